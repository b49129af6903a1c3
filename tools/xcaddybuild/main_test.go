package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/xcaddy"
)

// ownPlugin is the plugin line every valid recipe in these tests carries.
const ownPlugin = `{"module_path": "` + modulePath + `/caddymodule"}`

func TestParseRecipeValid(t *testing.T) {
	dir := filepath.FromSlash("/repo")
	root := filepath.FromSlash("/checkout")
	tests := []struct {
		name     string
		recipe   string
		wantNew  []string // replacement targets before the added one, in order
		wantDirs []string // embed folders, in order
	}{
		{
			name:   "shipped shape",
			recipe: `{"caddy_version": "v2.11.9", "plugins": [` + ownPlugin + `]}`,
		},
		{
			name: "local replacements",
			recipe: `{"plugins": [` + ownPlugin + `], "replacements": [
				{"old": "example.com/a", "new": "./fork"},
				{"old": "example.com/b", "new": "../b"},
				{"old": "example.com/c", "new": "."}]}`,
			wantNew: []string{
				filepath.Join(dir, "fork"), filepath.Join(dir, "..", "b"), dir,
			},
		},
		{
			name: "module and absolute replacements",
			recipe: `{"plugins": [` + ownPlugin + `], "replacements": [
				{"old": "example.com/a v1.0.0", "new": "example.com/fork v1.2.3"},
				{"old": "example.com/b", "new": "/srv/b"},
				{"old": "example.com/c", "new": "fork"}]}`,
			wantNew: []string{"example.com/fork v1.2.3", "/srv/b", "fork"},
		},
		{
			name: "embed folders",
			recipe: `{"plugins": [` + ownPlugin + `], "embed_dir": [
				{"dir": "site"}, {"dir": "/srv/site", "name": "s"}]}`,
			wantDirs: []string{filepath.Join(dir, "site"), filepath.FromSlash("/srv/site")},
		},
		{
			name: "other plugins",
			recipe: `{"plugins": [{"module_path": "example.com/p", "version": "v1.0.0"},
				` + ownPlugin + `]}`,
		},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := parseRecipe([]byte(tc.recipe), dir, root)
			if err != nil {
				t.Fatalf("parseRecipe: %v", err)
			}

			if got, want := len(b.Replacements), len(tc.wantNew)+1; got != want {
				t.Fatalf("replacements: got %d, want %d", got, want)
			}
			for i, want := range tc.wantNew {
				if got := string(b.Replacements[i].New); got != want {
					t.Errorf("replacement %d new: got %q, want %q", i, got, want)
				}
			}
			last := b.Replacements[len(b.Replacements)-1]
			if want := xcaddy.NewReplace(modulePath, root); last != want {
				t.Errorf("added replacement: got %v => %v, want %v => %v",
					last.Old, last.New, want.Old, want.New)
			}

			if got, want := len(b.EmbedDirs), len(tc.wantDirs); got != want {
				t.Fatalf("embed folders: got %d, want %d", got, want)
			}
			for i, want := range tc.wantDirs {
				if got := b.EmbedDirs[i].Dir; got != want {
					t.Errorf("embed folder %d: got %q, want %q", i, got, want)
				}
			}
		})
	}
}

func TestParseRecipeInvalid(t *testing.T) {
	tests := []struct {
		name    string
		recipe  string
		wantErr string
	}{
		{"empty", ``, "decoding"},
		{"not an object", `[]`, "decoding"},
		{"unknown field", `{"plugin": [` + ownPlugin + `]}`, `unknown field "plugin"`},
		{"trailing data", `{"plugins": [` + ownPlugin + `]} {}`, "data after"},
		{"no plugins", `{"caddy_version": "v2.11.9"}`, "none is a package"},
		{"no own plugin", `{"plugins": [{"module_path": "example.com/p"}]}`, "none is a package"},
		{"empty plugin path", `{"plugins": [{"version": "v1.0.0"}, ` + ownPlugin + `]}`,
			"module_path is empty"},
		{"module root as plugin", `{"plugins": [{"module_path": "` + modulePath + `"}]}`,
			"name the package"},
		{"own plugin version", `{"plugins": [{"module_path": "` + modulePath +
			`/caddymodule", "version": "v1.0.0"}]}`, "remove version"},
		{"replacement without new", `{"plugins": [` + ownPlugin +
			`], "replacements": [{"old": "example.com/a"}]}`, "must both be set"},
		{"own module replaced", `{"plugins": [` + ownPlugin +
			`], "replacements": [{"old": "` + modulePath + `", "new": "./x"}]}`, "always replaces"},
		{"own module version replaced", `{"plugins": [` + ownPlugin +
			`], "replacements": [{"old": "` + modulePath + ` v1.0.0", "new": "./x"}]}`,
			"always replaces"},
		{"own module at version replaced", `{"plugins": [` + ownPlugin +
			`], "replacements": [{"old": "` + modulePath + `@v1.0.0", "new": "./x"}]}`,
			"always replaces"},
		{"empty embed folder", `{"plugins": [` + ownPlugin + `], "embed_dir": [{"name": "x"}]}`,
			"dir is empty"},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseRecipe([]byte(tc.recipe), "/repo", "/checkout")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseRecipe error: got %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestLoadRecipeShipped checks the recipe at the repository root.
func TestLoadRecipeShipped(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadRecipe(filepath.Join(root, defaultRecipe), root)
	if err != nil {
		t.Fatalf("loadRecipe: %v", err)
	}

	if got, want := b.CaddyVersion, "v2.11.9"; got != want {
		t.Errorf("caddy_version: got %q, want %q", got, want)
	}
	if len(b.Plugins) == 0 || b.Plugins[0].PackagePath != modulePath+"/caddymodule" {
		t.Errorf("plugins: got %v, want %s/caddymodule first", b.Plugins, modulePath)
	}
}

func FuzzParseRecipe(f *testing.F) {
	f.Add(`{"caddy_version": "v2.11.9", "plugins": [` + ownPlugin + `]}`)
	f.Add(`{"plugins": [` + ownPlugin + `], "replacements": [{"old": "a.b/c", "new": "../c"}]}`)
	f.Add(`{"plugins": [` + ownPlugin + `], "embed_dir": [{"dir": "site"}], "os": "linux"}`)
	f.Add(`{"plugins": [{"module_path": "` + modulePath + `"}]}`)
	f.Add(`{"timeout_get": 1e99}`)

	f.Fuzz(func(t *testing.T, recipe string) {
		b, err := parseRecipe([]byte(recipe), "/repo", "/checkout")
		if err != nil {
			return
		}

		last := b.Replacements[len(b.Replacements)-1]
		if last != xcaddy.NewReplace(modulePath, "/checkout") {
			t.Errorf("added replacement: got %v => %v", last.Old, last.New)
		}
		for _, r := range b.Replacements[:len(b.Replacements)-1] {
			if replacedModule(string(r.Old)) == modulePath {
				t.Errorf("recipe replacement of %s kept: %v", modulePath, r.Old)
			}
			if isRelativeLocal(string(r.New)) {
				t.Errorf("relative replacement path kept: %q", r.New)
			}
		}
		for _, d := range b.Plugins {
			if d.PackagePath == "" || d.PackagePath == modulePath {
				t.Errorf("plugin path accepted: %q", d.PackagePath)
			}
		}
	})
}

// writeFiles creates the files named by slash paths relative to dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkout makes a folder tree shaped like this repository: the module at
// the root, this tool's module below it, and a folder with no go.mod.
func checkout(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"go.mod":                      "module " + modulePath + "\n\ngo 1.26\n",
		"caddymodule/doc.go":          "package caddymodule\n",
		"tools/xcaddybuild/go.mod":    "module " + modulePath + "/tools/xcaddybuild\n",
		"tools/xcaddybuild/sub/x.txt": "",
	})
	return root
}

func TestFindRoot(t *testing.T) {
	root := checkout(t)
	tests := []struct {
		name  string
		start string
	}{
		{"root", root},
		{"package folder", filepath.Join(root, "caddymodule")},
		{"tool module", filepath.Join(root, "tools", "xcaddybuild")},
		{"below tool module", filepath.Join(root, "tools", "xcaddybuild", "sub")},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := findRoot(tc.start)
			if err != nil {
				t.Fatalf("findRoot: %v", err)
			}
			if got != root {
				t.Errorf("findRoot(%s): got %s, want %s", tc.start, got, root)
			}
		})
	}
}

func TestFindRootOutside(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"go.mod": "module example.com/other\n"})

	if got, err := findRoot(dir); err == nil {
		t.Errorf("findRoot outside a checkout: got %s, want an error", got)
	}
}

func TestCheckRoot(t *testing.T) {
	root := checkout(t)
	if got, err := checkRoot(root); err != nil || got != root {
		t.Errorf("checkRoot(root): got %q, %v; want %q, nil", got, err, root)
	}

	tool := filepath.Join(root, "tools", "xcaddybuild")
	if _, err := checkRoot(tool); err == nil {
		t.Errorf("checkRoot(%s): got nil, want an error for another module", tool)
	}
}

func TestDeclaredModule(t *testing.T) {
	tests := []struct {
		name  string
		gomod string
		want  string
	}{
		{"plain", "module example.com/a\n\ngo 1.26\n", "example.com/a"},
		{"quoted", "module \"example.com/a\"\n", "example.com/a"},
		{"comment", "// header\nmodule example.com/a // the module\n", "example.com/a"},
		{"tabs", "module\texample.com/a\r\n", "example.com/a"},
		{"none", "go 1.26\n", ""},
		{"word prefix", "modules example.com/a\n", ""},
		{"empty", "", ""},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := declaredModule([]byte(tc.gomod)); got != tc.want {
				t.Errorf("declaredModule(%q): got %q, want %q", tc.gomod, got, tc.want)
			}
		})
	}
}

func TestResolvePlan(t *testing.T) {
	root := checkout(t)
	wd := filepath.Join(root, "tools", "xcaddybuild")
	other := t.TempDir()
	tests := []struct {
		name string
		opts options
		want plan
	}{
		{
			name: "defaults",
			want: plan{root, filepath.Join(root, "xcaddy.json"), filepath.Join(root, "caddy")},
		},
		{
			name: "relative flags",
			opts: options{recipe: "../../xcaddy.json", output: "../../bin/caddy"},
			want: plan{root, filepath.Join(root, "xcaddy.json"),
				filepath.Join(root, "bin", "caddy")},
		},
		{
			name: "absolute flags",
			opts: options{recipe: filepath.Join(other, "r.json"), output: filepath.Join(other, "c")},
			want: plan{root, filepath.Join(other, "r.json"), filepath.Join(other, "c")},
		},
		{
			name: "relative root",
			opts: options{root: "../.."},
			want: plan{root, filepath.Join(root, "xcaddy.json"), filepath.Join(root, "caddy")},
		},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolvePlan(tc.opts, wd)
			if err != nil {
				t.Fatalf("resolvePlan: %v", err)
			}
			if got != tc.want {
				t.Errorf("resolvePlan: got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestResolvePlanBadRoot(t *testing.T) {
	wd := t.TempDir()
	if got, err := resolvePlan(options{root: "."}, wd); err == nil {
		t.Errorf("resolvePlan with a root lacking go.mod: got %+v, want an error", got)
	}
}

func TestParseFlags(t *testing.T) {
	var out strings.Builder
	got, err := parseFlags([]string{"-recipe", "r.json", "-output", "c", "-root", "d"}, &out)
	if err != nil {
		t.Fatalf("parseFlags: %v", err)
	}
	if want := (options{root: "d", recipe: "r.json", output: "c"}); got != want {
		t.Errorf("parseFlags: got %+v, want %+v", got, want)
	}

	for _, args := range [][]string{{"-nosuch"}, {"extra"}} {
		if _, err := parseFlags(args, &out); err == nil {
			t.Errorf("parseFlags(%q): got nil, want an error", args)
		}
	}
}

func TestLocalFirstProxy(t *testing.T) {
	dir := filepath.FromSlash("/tmp/empty proxy")
	tests := []struct {
		goproxy string
		want    string
	}{
		{"https://proxy.example,direct", "file:///tmp/empty%20proxy,https://proxy.example,direct"},
		{"off", "file:///tmp/empty%20proxy,off"},
		{"https://a.example|https://b.example",
			"file:///tmp/empty%20proxy,https://a.example|https://b.example"},
	}

	for _, tc := range tests {
		if got := localFirstProxy(dir, tc.goproxy); got != tc.want {
			t.Errorf("localFirstProxy(%q): got %q, want %q", tc.goproxy, got, tc.want)
		}
	}
}
