// Command xcaddybuild builds a Caddy binary from the repository's build
// recipe, xcaddy.json, with xcaddy's Go package, and uses the local
// checkout of caddy-twofactor in place of a published version.
//
// Usage, from the repository root:
//
//	go -C tools/xcaddybuild run . [-recipe FILE] [-output FILE] [-root DIR]
//
// The flags are:
//
//	-root DIR     the repository root; default: the nearest folder at or
//	              above the working directory whose go.mod declares
//	              github.com/caddy-twofactor/caddy-twofactor
//	-recipe FILE  the build recipe; default: xcaddy.json in the root
//	-output FILE  where the binary goes; default: caddy in the root
//
// Relative paths given as flags are relative to the working directory of
// the process, which `go -C tools/xcaddybuild` sets to tools/xcaddybuild.
//
// The recipe is the JSON form of xcaddy's Builder. To it the command adds
// one replacement, github.com/caddy-twofactor/caddy-twofactor => the
// absolute root, so the build uses the checkout and never fetches this
// module, which is not published. For xcaddy's go commands it puts an
// empty file proxy first in GOPROXY, so that resolving the plugin import
// sends no proxy request for this module (see setBuildEnv), and it sets
// GOWORK=off.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/caddyserver/xcaddy"
)

// modulePath is the module that the build replaces with the checkout.
const modulePath = "github.com/caddy-twofactor/caddy-twofactor"

// Default file names, relative to the repository root.
const (
	defaultRecipe = "xcaddy.json"
	defaultOutput = "caddy"
)

// options holds the command-line flags as given. An empty field means the
// default.
type options struct {
	root   string
	recipe string
	output string
}

// plan holds the absolute paths that one build uses.
type plan struct {
	root   string
	recipe string
	output string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()

	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		log.Fatalf("[FATAL] %v", err)
	}
}

// run parses args and builds Caddy from the recipe, after it writes the
// plan to w.
func run(ctx context.Context, args []string, w io.Writer) error {
	opts, err := parseFlags(args, w)
	if err != nil {
		return err
	}

	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("finding the working directory: %w", err)
	}
	p, err := resolvePlan(opts, wd)
	if err != nil {
		return err
	}

	builder, err := loadRecipe(p.recipe, p.root)
	if err != nil {
		return err
	}
	describe(w, builder, p)

	return build(ctx, builder, p.output)
}

// build runs xcaddy with the environment that setBuildEnv describes.
func build(ctx context.Context, b xcaddy.Builder, output string) error {
	goproxy, err := currentGOPROXY(ctx)
	if err != nil {
		return err
	}
	emptyProxy, err := os.MkdirTemp("", "xcaddybuild-proxy-")
	if err != nil {
		return fmt.Errorf("creating the empty proxy folder: %w", err)
	}
	defer os.RemoveAll(emptyProxy)

	if err := setBuildEnv(emptyProxy, goproxy); err != nil {
		return err
	}
	if err := b.Build(ctx, output); err != nil {
		return fmt.Errorf("building %s: %w", output, err)
	}
	return nil
}

// parseFlags parses the command-line flags in args. Usage and flag errors
// go to w.
func parseFlags(args []string, w io.Writer) (options, error) {
	var opts options
	fs := flag.NewFlagSet("xcaddybuild", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.StringVar(&opts.root, "root", "",
		"repository `dir`; default: found from the working directory")
	fs.StringVar(&opts.recipe, "recipe", "",
		"build recipe `file`; default: "+defaultRecipe+" in the repository root")
	fs.StringVar(&opts.output, "output", "",
		"binary `file` to write; default: ./"+defaultOutput+" in the repository root")

	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return opts, nil
}

// resolvePlan makes the paths in opts absolute. Relative flag values are
// taken relative to wd, and flags not given get their defaults in the
// repository root.
func resolvePlan(opts options, wd string) (plan, error) {
	var p plan
	var err error
	if opts.root == "" {
		p.root, err = findRoot(wd)
	} else {
		p.root, err = checkRoot(absFrom(wd, opts.root))
	}
	if err != nil {
		return plan{}, err
	}

	p.recipe = filepath.Join(p.root, defaultRecipe)
	if opts.recipe != "" {
		p.recipe = absFrom(wd, opts.recipe)
	}
	p.output = filepath.Join(p.root, defaultOutput)
	if opts.output != "" {
		p.output = absFrom(wd, opts.output)
	}
	return p, nil
}

// absFrom returns path made absolute against dir, cleaned.
func absFrom(dir, path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(dir, path)
}

// describe writes what the build will use to w, one line per item.
func describe(w io.Writer, b xcaddy.Builder, p plan) {
	version := b.CaddyVersion
	if version == "" {
		version = "latest"
	}
	fmt.Fprintf(w, "xcaddybuild: recipe %s\n", p.recipe)
	fmt.Fprintf(w, "xcaddybuild: Caddy %s\n", version)
	for _, d := range b.Plugins {
		fmt.Fprintf(w, "xcaddybuild: plugin %s\n", d)
	}
	for _, r := range b.Replacements {
		fmt.Fprintf(w, "xcaddybuild: replace %s => %s\n", r.Old, r.New)
	}
	fmt.Fprintf(w, "xcaddybuild: output %s\n", p.output)
}
