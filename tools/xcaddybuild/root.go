package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// findRoot returns the repository root: the nearest folder at or above dir
// whose go.mod declares modulePath. Folders with another go.mod, such as
// this tool's own module, are passed over.
func findRoot(dir string) (string, error) {
	start, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("finding the repository root from %s: %w", dir, err)
	}

	for dir := start; ; {
		found, err := declaresModule(dir)
		if err != nil {
			return "", fmt.Errorf("finding the repository root: %w", err)
		}
		if found {
			return dir, nil
		}

		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding the repository root: no go.mod declaring %s "+
				"at or above %s; run from inside the checkout or pass -root", modulePath, start)
		}
		dir = parent
	}
}

// checkRoot returns dir, made absolute, if its go.mod declares modulePath.
func checkRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("checking root %s: %w", dir, err)
	}

	found, err := declaresModule(abs)
	if err != nil {
		return "", fmt.Errorf("checking root: %w", err)
	}
	if !found {
		return "", fmt.Errorf("checking root: %s has no go.mod declaring %s", abs, modulePath)
	}
	return abs, nil
}

// declaresModule reports whether dir holds a go.mod declaring modulePath. A
// missing go.mod is not an error.
func declaresModule(dir string) (bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading go.mod: %w", err)
	}
	return declaredModule(data) == modulePath, nil
}

// declaredModule returns the path on the module line of the go.mod text in
// data, unquoted and without a trailing comment, or "" if there is none.
func declaredModule(data []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		fields := strings.Fields(line)
		if len(fields) != 2 || fields[0] != "module" {
			continue
		}
		if path, err := strconv.Unquote(fields[1]); err == nil {
			return path
		}
		return fields[1]
	}
	return ""
}
