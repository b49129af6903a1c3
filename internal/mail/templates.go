package mail

import (
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"
)

// embeddedFS holds the default templates: templates/layout.tmpl and
// templates/<lang>/<kind>.tmpl for every language and kind.
//
//go:embed templates
var embeddedFS embed.FS

// layoutFile is the HTML frame shared by every mail. It defines the block
// "layout", which calls the block "html" of the mail's own file.
const layoutFile = "layout.tmpl"

// Blocks that every <lang>/<kind>.tmpl file must define.
const (
	blockSubject = "subject" // the Subject header, folded to one line
	blockText    = "text"    // the text/plain part
	blockHTML    = "html"    // the body of the text/html part
	blockLayout  = "layout"  // defined by layout.tmpl
)

// templateSet is the parsed file of one language and kind. Both templates
// are safe for concurrent use once New has executed them.
type templateSet struct {
	file string                 // path or embedded name of the file, for errors
	text *texttemplate.Template // "subject" and "text"
	html *htmltemplate.Template // "layout", with this file's "html" in it
}

// catalog holds a templateSet per language and kind.
type catalog map[string]map[Kind]*templateSet

// rendered is a mail's subject and two bodies.
type rendered struct {
	subject, text, html string
}

// templateSource reads template files from the override folder when it
// has them, else from the embedded set.
type templateSource struct {
	dir      string          // override folder, "" for none
	override map[string]bool // slash paths present in dir
	embedded fs.FS
}

// loadCatalog parses every template, from dir where it has a file, and
// checks each by rendering sample data. Errors wrap ErrTemplate and name
// the file.
func loadCatalog(dir string) (catalog, error) {
	embedded, err := fs.Sub(embeddedFS, "templates")
	if err != nil {
		return nil, fmt.Errorf("%w: opening embedded templates: %v", ErrTemplate, err)
	}
	src := templateSource{dir: dir, embedded: embedded}
	if dir != "" {
		if src.override, err = scanOverrides(dir); err != nil {
			return nil, err
		}
	}

	layoutText, layoutName, err := src.read(layoutFile)
	if err != nil {
		return nil, err
	}
	layout, err := htmltemplate.New(layoutName).Parse(layoutText)
	if err != nil {
		return nil, fmt.Errorf("%w: parsing %s: %v", ErrTemplate, layoutName, err)
	}
	if layout.Lookup(blockLayout) == nil {
		return nil, fmt.Errorf("%w: %s does not define the block %q", ErrTemplate, layoutName, blockLayout)
	}

	cat := catalog{}
	for _, lang := range Languages {
		cat[lang] = map[Kind]*templateSet{}
		for _, kind := range Kinds {
			set, err := src.parse(lang, kind, layout)
			if err != nil {
				return nil, err
			}
			if err := set.check(lang, kind); err != nil {
				return nil, err
			}
			cat[lang][kind] = set
		}
	}
	return cat, nil
}

// read returns the text of the template at the slash path name and the
// name to show in errors.
func (src templateSource) read(name string) (text, label string, err error) {
	if src.override[name] {
		label = filepath.Join(src.dir, filepath.FromSlash(name))
		data, err := os.ReadFile(label)
		if err != nil {
			return "", label, fmt.Errorf("%w: reading %s: %v", ErrTemplate, label, err)
		}
		return string(data), label, nil
	}

	label = "embedded templates/" + name
	data, err := fs.ReadFile(src.embedded, name)
	if err != nil {
		return "", label, fmt.Errorf("%w: reading %s: %v", ErrTemplate, label, err)
	}
	return string(data), label, nil
}

// parse reads and parses the file of one language and kind twice: with
// text/template for the subject and text part, and with html/template,
// inside a copy of layout, for the HTML part.
func (src templateSource) parse(lang string, kind Kind, layout *htmltemplate.Template) (*templateSet, error) {
	content, name, err := src.read(path.Join(lang, string(kind)+".tmpl"))
	if err != nil {
		return nil, err
	}
	set := &templateSet{file: name}

	if set.text, err = texttemplate.New(name).Parse(content); err != nil {
		return nil, fmt.Errorf("%w: parsing %s: %v", ErrTemplate, name, err)
	}
	if set.html, err = layout.Clone(); err != nil {
		return nil, fmt.Errorf("%w: copying the layout for %s: %v", ErrTemplate, name, err)
	}
	if _, err = set.html.New(name).Parse(content); err != nil {
		return nil, fmt.Errorf("%w: parsing %s as HTML: %v", ErrTemplate, name, err)
	}

	for _, block := range []string{blockSubject, blockText, blockHTML} {
		if set.text.Lookup(block) == nil {
			return nil, fmt.Errorf("%w: %s does not define the block %q; it needs %q, %q and %q",
				ErrTemplate, name, block, blockSubject, blockText, blockHTML)
		}
	}
	return set, nil
}

// sampleData are rendered by New to find broken templates before the first
// real mail. They cover each known Method, 0, 1 and many remaining recovery
// codes, and a missing client IP.
var sampleData = []Data{
	{Code: "123456", ValidMinutes: 10, Site: "app.example.com", Method: "totp",
		Time: time.Date(2024, 5, 1, 14, 3, 0, 0, time.UTC), ClientIP: "192.0.2.1", Remaining: 9},
	{Code: "654321", ValidMinutes: 10, Site: "app.example.com", Method: "emailOtp",
		Time: time.Date(2024, 12, 31, 23, 59, 0, 0, time.UTC), ClientIP: "2001:db8::1", Remaining: 1},
	{Code: "000000", ValidMinutes: 1, Site: "app.example.com", Method: "recoveryCode",
		Time: time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC), Remaining: 0},
}

// check renders sample data, and rejects a code mail whose parts do not
// show the code.
func (set *templateSet) check(lang string, kind Kind) error {
	for _, data := range sampleData {
		out, err := set.render(view{Data: data, Lang: lang})
		if err != nil {
			return err
		}
		if !isCodeKind(kind) {
			continue
		}
		if !strings.Contains(out.text, data.Code) || !strings.Contains(out.html, data.Code) {
			return fmt.Errorf("%w: %s must show {{.Code}} in both blocks %q and %q",
				ErrTemplate, set.file, blockText, blockHTML)
		}
	}
	return nil
}

// render executes the three parts. The subject is folded to one line, so
// no template can add a header.
func (set *templateSet) render(v view) (rendered, error) {
	var subject, text, html strings.Builder
	if err := set.text.ExecuteTemplate(&subject, blockSubject, v); err != nil {
		return rendered{}, fmt.Errorf("%w: rendering %s: %v", ErrTemplate, set.file, err)
	}
	if err := set.text.ExecuteTemplate(&text, blockText, v); err != nil {
		return rendered{}, fmt.Errorf("%w: rendering %s: %v", ErrTemplate, set.file, err)
	}
	if err := set.html.ExecuteTemplate(&html, blockLayout, v); err != nil {
		return rendered{}, fmt.Errorf("%w: rendering %s as HTML: %v", ErrTemplate, set.file, err)
	}

	out := rendered{
		subject: strings.Join(strings.Fields(subject.String()), " "),
		text:    strings.TrimSpace(text.String()) + "\n",
		html:    strings.TrimSpace(html.String()) + "\n",
	}
	if out.subject == "" || out.text == "\n" || out.html == "\n" {
		return rendered{}, fmt.Errorf("%w: %s renders an empty subject, text or HTML part",
			ErrTemplate, set.file)
	}
	return out, nil
}

// scanOverrides lists the template files of an override folder as slash
// paths. It rejects a folder it cannot read, a language folder other than
// Languages and a <kind>.tmpl of no known Kind, naming the path, because
// such a file would otherwise be ignored without a word. Other files
// (README, dot files) are ignored.
func scanOverrides(dir string) (map[string]bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the mail templates folder: %v", ErrTemplate, err)
	}

	found := map[string]bool{}
	for _, entry := range entries {
		name := entry.Name()
		full := filepath.Join(dir, name)
		switch {
		case strings.HasPrefix(name, "."):
			continue
		case isDir(full):
			if !slices.Contains(Languages, name) {
				return nil, fmt.Errorf("%w: %s: unknown language folder, want one of %s",
					ErrTemplate, full, strings.Join(Languages, ", "))
			}
			if err := scanLanguageOverrides(dir, name, found); err != nil {
				return nil, err
			}
		case name == layoutFile:
			found[name] = true
		case strings.HasSuffix(name, ".tmpl"):
			return nil, fmt.Errorf("%w: %s: unexpected template, want %s or <language>/<kind>.tmpl",
				ErrTemplate, full, layoutFile)
		}
	}
	return found, nil
}

// scanLanguageOverrides adds the <kind>.tmpl files of dir/lang to found.
func scanLanguageOverrides(dir, lang string, found map[string]bool) error {
	entries, err := os.ReadDir(filepath.Join(dir, lang))
	if err != nil {
		return fmt.Errorf("%w: reading the mail templates folder: %v", ErrTemplate, err)
	}
	for _, entry := range entries {
		name := entry.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".tmpl") {
			continue
		}
		kind := Kind(strings.TrimSuffix(name, ".tmpl"))
		if !slices.Contains(Kinds, kind) {
			return fmt.Errorf("%w: %s: unknown mail kind %q, want one of %s",
				ErrTemplate, filepath.Join(dir, lang, name), kind, kindList())
		}
		found[path.Join(lang, name)] = true
	}
	return nil
}

// isDir reports whether name is a folder, following symbolic links.
func isDir(name string) bool {
	info, err := os.Stat(name)
	return err == nil && info.IsDir()
}

// kindList returns the kinds as a comma-separated list, for messages.
func kindList() string {
	names := make([]string, len(Kinds))
	for i, kind := range Kinds {
		names[i] = string(kind)
	}
	return strings.Join(names, ", ")
}
