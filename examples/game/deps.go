package main

import (
	"embed"
	"io"
	"path/filepath"
	"runtime"

	"github.com/riptide-io/riptide/internal/webdeps"
)

// The page's npm manifest and lock, embedded so that a binary run away from
// its source tree can still install socket.io-client (see internal/webdeps).
//
//go:embed web/package.json web/package-lock.json
var npmManifest embed.FS

// clientJS is the browser bundle of socket.io-client inside the web folder.
const clientJS = webdeps.ClientJS

func page() webdeps.Page {
	_, file, _, _ := runtime.Caller(0)
	src := ""
	if filepath.IsAbs(file) {
		src = filepath.Dir(file)
	}
	return webdeps.Page{Example: "game", SourceDir: src, Manifest: npmManifest}
}

// findWebDir returns the page's web folder (see webdeps.Page.FindDir).
func findWebDir(explicit string) (string, error) { return page().FindDir(explicit) }

// ensureWebDeps installs the page's npm dependencies when needed.
func ensureWebDeps(dir string, log io.Writer) error { return page().Ensure(dir, log) }
