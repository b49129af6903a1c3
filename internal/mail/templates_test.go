package mail

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// noticeData fills every field a notice shows.
var noticeData = Data{
	ValidMinutes: 10, Site: "app.example.com", Method: "emailOtp",
	Time: testTime, ClientIP: "198.51.100.7", Remaining: 4,
}

func TestTemplatesEveryLanguageAndKind(t *testing.T) {
	server := startServer(t, serverOptions{})
	m := newTestMailer(t, Config{Address: server.addr, TLS: "none"})

	for _, lang := range Languages {
		for _, kind := range Kinds {
			t.Run(lang+"/"+string(kind), func(t *testing.T) {
				data := noticeData
				if isCodeKind(kind) {
					data = Data{Code: testCode, ValidMinutes: 10, Site: "app.example.com"}
				}
				before := len(server.received())
				err := m.Send(context.Background(), Message{To: "bob@example.com", Kind: kind, Language: lang, Data: data})
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				mails := server.received()
				if len(mails) != before+1 {
					t.Fatalf("server holds %d mails, want %d", len(mails), before+1)
				}
				checkRendered(t, parseMail(t, mails[before].data), lang, kind)
			})
		}
	}
}

// checkRendered checks the parts of a delivered mail of lang and kind.
func checkRendered(t *testing.T, mail parsedMail, lang string, kind Kind) {
	t.Helper()
	if mail.subject == "" || strings.ContainsAny(mail.subject, "\r\n") {
		t.Errorf("subject = %q, want one non-empty line", mail.subject)
	}
	if !strings.Contains(mail.subject, "app.example.com") {
		t.Errorf("subject = %q, want it to name the site", mail.subject)
	}
	if got := mail.header.Get("Content-Language"); got != lang {
		t.Errorf("Content-Language = %q, want %q", got, lang)
	}
	if !strings.Contains(mail.html, `<html lang="`+lang+`">`) {
		t.Errorf("HTML part lacks <html lang=%q>:\n%s", lang, mail.html)
	}
	if strings.Contains(mail.text, "<p>") {
		t.Errorf("text part contains HTML:\n%s", mail.text)
	}

	var wants []string
	if isCodeKind(kind) {
		wants = []string{testCode, "10"}
	} else {
		wants = []string{"198.51.100.7", "UTC", "14:03", "2024"}
	}
	for _, want := range wants {
		if !strings.Contains(mail.text, want) {
			t.Errorf("text part lacks %q:\n%s", want, mail.text)
		}
		if !strings.Contains(mail.html, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, mail.html)
		}
	}
	if kind == KindRecoveryCodeUsed && !strings.Contains(mail.text, "4") {
		t.Errorf("text part lacks the remaining count 4:\n%s", mail.text)
	}
	if strings.Contains(mail.text, "emailOtp") {
		t.Errorf("text part shows the raw method name instead of a human one:\n%s", mail.text)
	}
}

func TestTemplatesEscapeHTML(t *testing.T) {
	server := startServer(t, serverOptions{})
	m := newTestMailer(t, Config{Address: server.addr, TLS: "none"})
	data := noticeData
	data.Site = `<script>alert(1)</script>`

	err := m.Send(context.Background(), Message{To: "bob@example.com", Kind: KindMethodEnabled, Data: data})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}

	mail := parseMail(t, server.only(t).data)
	if strings.Contains(mail.html, "<script>") {
		t.Errorf("HTML part contains an unescaped <script>:\n%s", mail.html)
	}
	if !strings.Contains(mail.html, "&lt;script&gt;") {
		t.Errorf("HTML part lacks the escaped site name:\n%s", mail.html)
	}
	if !strings.Contains(mail.text, "<script>") {
		t.Errorf("text part escaped the site name, want it verbatim:\n%s", mail.text)
	}
}

func TestTemplatesLanguageUpperCase(t *testing.T) {
	server := startServer(t, serverOptions{})
	m := newTestMailer(t, Config{Address: server.addr, TLS: "none"})
	msg := codeMessage()
	msg.Language = "NL"

	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	mail := parseMail(t, server.only(t).data)
	if got := mail.header.Get("Content-Language"); got != "nl" {
		t.Errorf("Content-Language = %q, want nl", got)
	}
}

func TestTemplatesLanguageFallback(t *testing.T) {
	server := startServer(t, serverOptions{})
	m := newTestMailer(t, Config{Address: server.addr, TLS: "none"})
	msg := codeMessage()
	msg.Language = "es"

	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	mail := parseMail(t, server.only(t).data)
	if got := mail.header.Get("Content-Language"); got != "en" {
		t.Errorf("Content-Language = %q, want en", got)
	}
}

// writeFile creates dir/name with content, making folders as needed.
func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

const overrideTemplate = `{{define "subject"}}Custom code for {{.Site}}{{end}}
{{define "text"}}Custom text {{.Code}}{{end}}
{{define "html"}}<p>Custom HTML {{.Code}}</p>{{end}}`

func TestTemplatesOverrideOneFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "de/challenge-code.tmpl", overrideTemplate)
	writeFile(t, dir, "nl/README.md", "notes for translators")
	server := startServer(t, serverOptions{})
	m := newTestMailer(t, Config{Address: server.addr, TLS: "none", TemplatesDir: dir})

	for _, kind := range []Kind{KindChallengeCode, KindSetupCode} {
		msg := codeMessage()
		msg.Language, msg.Kind = "de", kind
		if err := m.Send(context.Background(), msg); err != nil {
			t.Fatalf("Send %s: %v", kind, err)
		}
	}

	mails := server.received()
	if len(mails) != 2 {
		t.Fatalf("server received %d mails, want 2", len(mails))
	}
	overridden := parseMail(t, mails[0].data)
	if overridden.subject != "Custom code for app.example.com" {
		t.Errorf("overridden subject = %q, want the custom one", overridden.subject)
	}
	if strings.TrimSpace(overridden.text) != "Custom text "+testCode {
		t.Errorf("overridden text = %q, want the custom one", overridden.text)
	}
	embedded := parseMail(t, mails[1].data)
	if !strings.Contains(embedded.subject, "Bestätigen") {
		t.Errorf("embedded subject = %q, want the German setup subject", embedded.subject)
	}
}

func TestTemplatesOverrideLayout(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "layout.tmpl", `{{define "layout"}}<main>{{template "html" .}}</main>{{end}}`)
	server := startServer(t, serverOptions{})
	m := newTestMailer(t, Config{Address: server.addr, TLS: "none", TemplatesDir: dir})

	if err := m.Send(context.Background(), codeMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	mail := parseMail(t, server.only(t).data)
	if !strings.HasPrefix(mail.html, "<main>") {
		t.Errorf("HTML part = %q, want it framed by the custom layout", mail.html)
	}
}

func TestTemplatesOverrideBroken(t *testing.T) {
	tests := []struct {
		name    string
		file    string // path inside the override folder
		content string
		want    string // part of the error
	}{
		{"parse error", "fr/setup-code.tmpl", `{{define "subject"}}{{.Site}`, "parsing"},
		{"missing block", "fr/setup-code.tmpl", `{{define "subject"}}x{{end}}{{define "text"}}{{.Code}}{{end}}`, `"html"`},
		{"unknown field", "en/method-removed.tmpl",
			`{{define "subject"}}x{{end}}{{define "text"}}{{.Nope}}{{end}}{{define "html"}}x{{end}}`, "Nope"},
		{"code missing", "nl/challenge-code.tmpl",
			`{{define "subject"}}x{{end}}{{define "text"}}no code{{end}}{{define "html"}}no code{{end}}`, "{{.Code}}"},
		{"empty subject", "en/method-enabled.tmpl",
			`{{define "subject"}} {{end}}{{define "text"}}x{{end}}{{define "html"}}x{{end}}`, "empty"},
		{"unknown kind", "en/welcome.tmpl", overrideTemplate, "unknown mail kind"},
		{"unknown language", "es/setup-code.tmpl", overrideTemplate, "unknown language"},
		{"stray template", "setup-code.tmpl", overrideTemplate, "unexpected template"},
		{"layout without block", "layout.tmpl", `<html></html>`, `"layout"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, tt.file, tt.content)

			_, err := New(Config{Address: "127.0.0.1:25", TLS: "none", From: "a@example.com", TemplatesDir: dir})
			if !errors.Is(err, ErrTemplate) {
				t.Fatalf("New error = %v, want ErrTemplate", err)
			}
			if name := filepath.Base(tt.file); !strings.Contains(err.Error(), name) && tt.name != "unknown language" {
				t.Errorf("error %q does not name the file %s", err, name)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestTemplatesOverrideFolderMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")

	_, err := New(Config{Address: "127.0.0.1:25", TLS: "none", From: "a@example.com", TemplatesDir: dir})
	if !errors.Is(err, ErrTemplate) {
		t.Fatalf("New error = %v, want ErrTemplate", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name the folder %s", err, dir)
	}
}

func TestTemplatesOverrideEmptyLanguageFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "de"), 0o755); err != nil {
		t.Fatalf("mkdir: %v", err)
	}

	if _, err := New(Config{Address: "127.0.0.1:25", TLS: "none", From: "a@example.com", TemplatesDir: dir}); err != nil {
		t.Errorf("New with an empty de/ folder: %v, want the embedded templates", err)
	}
}
