package main

import (
	"strconv"
	"strings"
	"testing"
)

// crlf turns the \n line ends of a test mail into the CRLF of SMTP.
func crlf(s string) string {
	return strings.ReplaceAll(s, "\n", "\r\n")
}

func TestParseMessage(t *testing.T) {
	tests := []struct {
		name        string
		raw         string
		wantSubject string
		wantText    string
	}{
		{
			name:        "no MIME",
			raw:         "Subject: Hello\n\nplain body\n",
			wantSubject: "Hello",
			wantText:    "plain body\r\n",
		},
		{
			name: "alternative quoted-printable",
			raw: `Subject: =?UTF-8?q?Your_code_for_caf=C3=A9?=
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=b1

--b1
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

Caf=C3=A9 code 123456, a long line that is wrapped by quoted-printable =
here.
--b1
Content-Type: text/html; charset=UTF-8

<p>HTML 123456</p>
--b1--
`,
			wantSubject: "Your code for café",
			wantText:    "Café code 123456, a long line that is wrapped by quoted-printable here.",
		},
		{
			name: "html first",
			raw: `Subject: x
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/html

<p>HTML</p>
--b1
Content-Type: text/plain

the text
--b1--
`,
			wantSubject: "x",
			wantText:    "the text",
		},
		{
			name: "base64 nested",
			raw: `Subject: nested
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

Q29kZTogNjU0MzIx
--inner--
--outer
Content-Type: application/pdf

%PDF
--outer--
`,
			wantSubject: "nested",
			wantText:    "Code: 654321",
		},
		{
			name:        "latin-1",
			raw:         "Subject: =?ISO-8859-1?q?Gr=FC=DFe?=\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nGr=FC=DFe\n",
			wantSubject: "Grüße",
			wantText:    "Grüße\r\n",
		},
		{
			name:        "truncated multipart",
			raw:         "Subject: t\nContent-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\ncut off",
			wantSubject: "t",
			wantText:    "cut off",
		},
		{
			name:        "html only",
			raw:         "Subject: h\nContent-Type: text/html\n\n<p>x</p>\n",
			wantSubject: "h",
			wantText:    "",
		},
		{
			name:        "bad content type",
			raw:         "Subject: b\nContent-Type: ;;;\n\nbody\n",
			wantSubject: "b",
			wantText:    "",
		},
		{
			name:        "multipart without boundary",
			raw:         "Subject: m\nContent-Type: multipart/alternative\n\nbody\n",
			wantSubject: "m",
			wantText:    "",
		},
		{
			name:        "no header end",
			raw:         "garbage without a colon",
			wantSubject: "",
			wantText:    "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject, text := parseMessage(strings.NewReader(crlf(tt.raw)))
			if subject != tt.wantSubject {
				t.Errorf("subject = %q, want %q", subject, tt.wantSubject)
			}
			if strings.TrimRight(text, "\r\n") != strings.TrimRight(tt.wantText, "\r\n") {
				t.Errorf("text = %q, want %q", text, tt.wantText)
			}
		})
	}
}

// nestedMail returns a mail whose text part sits inside levels of
// multipart/mixed.
func nestedMail(levels int) string {
	var raw strings.Builder
	raw.WriteString("Subject: deep\n")
	for i := range levels {
		boundary := "b" + strconv.Itoa(i)
		raw.WriteString("Content-Type: multipart/mixed; boundary=" + boundary + "\n\n--" + boundary + "\n")
	}
	raw.WriteString("Content-Type: text/plain\n\nthe text\n")
	for i := levels - 1; i >= 0; i-- {
		raw.WriteString("--b" + strconv.Itoa(i) + "--\n")
	}
	return crlf(raw.String())
}

func TestParseMessageNesting(t *testing.T) {
	tests := []struct {
		levels int
		want   string
	}{
		{1, "the text"},
		{maxMIMEDepth, "the text"},
		{maxMIMEDepth + 1, ""},
	}
	for _, tt := range tests {
		_, text := parseMessage(strings.NewReader(nestedMail(tt.levels)))
		if got := strings.TrimSpace(text); got != tt.want {
			t.Errorf("text at %d levels = %q, want %q", tt.levels, got, tt.want)
		}
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add("Subject: a\r\n\r\nbody\r\n")
	f.Add("Content-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nYWJj\r\n--x--\r\n")
	f.Add("Content-Type: text/plain; charset=latin1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E9=\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		// Must not panic or hang, whatever the input.
		parseMessage(strings.NewReader(raw))
	})
}
