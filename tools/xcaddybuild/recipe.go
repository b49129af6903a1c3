package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/caddyserver/xcaddy"
)

// loadRecipe reads the recipe file at path and returns the builder it
// describes, prepared by parseRecipe for the checkout at root.
func loadRecipe(path, root string) (xcaddy.Builder, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return xcaddy.Builder{}, fmt.Errorf("reading recipe: %w", err)
	}

	b, err := parseRecipe(data, filepath.Dir(path), root)
	if err != nil {
		return xcaddy.Builder{}, fmt.Errorf("recipe %s: %w", path, err)
	}
	return b, nil
}

// parseRecipe decodes data, one JSON object with the fields of
// xcaddy.Builder, and checks it. Relative embed folders, and replacement
// paths that start with "./" or "../", are made absolute against dir, the
// recipe's folder, because xcaddy runs the go command in a temporary folder.
// Last, it appends the replacement of modulePath with root, which must be
// absolute.
//
// The recipe must list at least one package of modulePath as a plugin,
// never modulePath itself (its root is no Go package), with no version, and
// must not replace modulePath: the build always uses the checkout.
func parseRecipe(data []byte, dir, root string) (xcaddy.Builder, error) {
	var b xcaddy.Builder
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return xcaddy.Builder{}, fmt.Errorf("decoding: %w", err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return xcaddy.Builder{}, errors.New("decoding: data after the JSON object")
	}

	if err := checkPlugins(b.Plugins); err != nil {
		return xcaddy.Builder{}, err
	}
	if err := resolveReplacements(b.Replacements, dir); err != nil {
		return xcaddy.Builder{}, err
	}
	for i := range b.EmbedDirs {
		if b.EmbedDirs[i].Dir == "" {
			return xcaddy.Builder{}, fmt.Errorf("embed_dir %d: dir is empty", i)
		}
		b.EmbedDirs[i].Dir = absFrom(dir, b.EmbedDirs[i].Dir)
	}

	b.Replacements = append(b.Replacements, xcaddy.NewReplace(modulePath, root))
	return b, nil
}

// checkPlugins reports the first plugin that xcaddy could not build as
// intended, or that would make it fetch modulePath from the network.
func checkPlugins(plugins []xcaddy.Dependency) error {
	own := false
	for i, d := range plugins {
		switch {
		case d.PackagePath == "":
			return fmt.Errorf("plugin %d: module_path is empty", i)

		case d.PackagePath == modulePath:
			// xcaddy v0.4.5 blank-imports each plugin path, and it runs
			// `go get` on every plugin that does not lie below a replaced
			// module path. The module root is no package and does not lie
			// below itself.
			return fmt.Errorf("plugin %d: name the package %s/caddymodule, not the module %s",
				i, modulePath, modulePath)

		case strings.HasPrefix(d.PackagePath, modulePath+"/"):
			if d.Version != "" {
				return fmt.Errorf("plugin %s: remove version %q, because the build uses "+
					"the local checkout", d.PackagePath, d.Version)
			}
			own = true
		}
	}
	if !own {
		return fmt.Errorf("plugins: none is a package of %s, so the build would lack the "+
			"twofactor handler; add %s/caddymodule", modulePath, modulePath)
	}
	return nil
}

// resolveReplacements checks reps and makes their local paths absolute
// against dir, in place.
func resolveReplacements(reps []xcaddy.Replace, dir string) error {
	for i, r := range reps {
		if r.Old == "" || r.New == "" {
			return fmt.Errorf("replacement %d: old and new must both be set", i)
		}
		if replacedModule(string(r.Old)) == modulePath {
			return fmt.Errorf("replacement %d: remove it, because the build always "+
				"replaces %s with the local checkout", i, modulePath)
		}
		reps[i].New = xcaddy.ReplacementPath(absLocal(dir, string(r.New)))
	}
	return nil
}

// replacedModule returns the module path of a replacement's old side, which
// xcaddy accepts as "path", "path version" or "path@version".
func replacedModule(old string) string {
	path, _, _ := strings.Cut(old, " ")
	path, _, _ = strings.Cut(path, "@")
	return path
}

// absLocal returns path made absolute against dir if it is a relative local
// path (".", "..", or starting with "./" or "../", as in go.mod), and path
// unchanged otherwise, such as a module path or an absolute path.
func absLocal(dir, path string) string {
	if !isRelativeLocal(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// isRelativeLocal reports whether path is a relative file path in go.mod's
// sense rather than a module path.
func isRelativeLocal(path string) bool {
	if path == "." || path == ".." {
		return true
	}
	for _, prefix := range []string{"./", "../", "." + string(filepath.Separator),
		".." + string(filepath.Separator)} {
		if strings.HasPrefix(path, prefix) {
			return true
		}
	}
	return false
}
