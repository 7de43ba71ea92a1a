// Package webdeps installs the npm dependencies of the examples' pages:
// the real socket.io-client, installed with `npm ci` from the example's
// web/package-lock.json when node_modules is missing or stale, and served
// from there. Nothing of it is committed. The manifest and lock travel
// inside each example's binary too, so that a binary run away from its
// source tree can still install it (into the user's cache directory).
package webdeps

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

const (
	// ClientJS is the browser bundle of socket.io-client, served at
	// /socket.io.min.js straight from node_modules.
	ClientJS   = "node_modules/socket.io-client/dist/socket.io.min.js"
	npmTimeout = 5 * time.Minute
)

// Page is one example's web folder.
type Page struct {
	Example   string // "chat", "game"...
	SourceDir string // the example's source folder (runtime.Caller), or ""
	Manifest  fs.FS  // holds web/package.json and web/package-lock.json
}

// FindDir returns the folder holding the page's package.json: explicit if
// given, else web/ in SourceDir (go run, go test), else ./web or
// ./examples/<Example>/web; when none is usable, a folder in the user's
// cache directory seeded with the embedded package.json and
// package-lock.json.
func (p Page) FindDir(explicit string) (string, error) {
	example := p.Example
	if explicit != "" {
		return filepath.Abs(explicit)
	}
	var cands []string
	if p.SourceDir != "" {
		cands = append(cands, filepath.Join(p.SourceDir, "web"))
	}
	cands = append(cands, "web", filepath.Join("examples", example, "web"))
	for _, c := range cands {
		if FileExists(filepath.Join(c, "package.json")) && writable(c) {
			return filepath.Abs(c)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no examples/%s/web folder and no cache directory: %w", example, err)
	}
	dir := filepath.Join(cache, "riptide-"+example)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, _ := fs.ReadFile(p.Manifest, "web/"+f)
		if old, err := os.ReadFile(filepath.Join(dir, f)); err == nil && bytes.Equal(old, b) {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// Ensure makes sure dir/node_modules holds what dir/package-lock.json pins,
// running `npm ci` when it does not (no node_modules, or a lock changed since
// the last install). Concurrent callers take turns through a file lock.
func (p Page) Ensure(dir string, log io.Writer) error {
	example := p.Example
	stampFile := ".riptide-" + example + "-stamp"
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found in PATH: the page needs Node.js >= 20 and npm to install socket.io-client (%w)", tool, err)
		}
	}
	want, err := depsDigest(dir)
	if err != nil {
		return err
	}
	stamp := filepath.Join(dir, "node_modules", stampFile)
	ok := func() bool {
		b, err := os.ReadFile(stamp)
		return err == nil && string(b) == want && FileExists(filepath.Join(dir, ClientJS))
	}
	if ok() {
		return nil
	}
	sum := sha256.Sum256([]byte(dir))
	unlock, err := LockFile(filepath.Join(os.TempDir(), "riptide-"+example+"-npm-"+hex.EncodeToString(sum[:8])+".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if ok() { // installed by another process while we waited
		return nil
	}
	fmt.Fprintf(log, "%s: installing the page's npm dependencies (socket.io-client): npm ci in %s\n", example, dir)
	ctx, cancel := context.WithTimeout(context.Background(), npmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci in %s failed after %v: %w (it needs the npm registry or a warm npm cache)", dir, time.Since(start).Round(time.Millisecond), err)
	}
	if !FileExists(filepath.Join(dir, ClientJS)) {
		return fmt.Errorf("npm ci in %s did not produce %s", dir, ClientJS)
	}
	if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(log, "%s: npm ci done in %v\n", example, time.Since(start).Round(time.Millisecond))
	return nil
}

// depsDigest identifies an install: package.json, package-lock.json and the
// node version.
func depsDigest(dir string) (string, error) {
	h := sha256.New()
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return "", err
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	v, err := exec.Command("node", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("node --version: %w", err)
	}
	h.Write(bytes.TrimSpace(v))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// LockFile takes an exclusive advisory lock on path, created if needed.
func LockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// FileExists reports whether p exists.
func FileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// writable reports whether files can be created in dir.
func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return false
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return true
}

// ChromiumPath is where Debian's chromium package puts the browser the
// examples' tests drive headless.
const ChromiumPath = "/usr/bin/chromium"

// EnsureChromium installs Debian's chromium when ChromiumPath is missing
// (apt-get, as root; concurrent callers take turns), or says why it cannot.
// It never skips: browser tests fail loudly without a browser.
func EnsureChromium(logf func(format string, args ...any)) error {
	if !FileExists(ChromiumPath) {
		if os.Geteuid() != 0 {
			return fmt.Errorf("%s is missing and this is not root: install it with `sudo apt-get install -y chromium`", ChromiumPath)
		}
		unlock, err := LockFile(filepath.Join(os.TempDir(), "riptide-chromium-apt.lock"))
		if err != nil {
			return err
		}
		defer unlock()
		if !FileExists(ChromiumPath) {
			for _, args := range [][]string{{"update"}, {"install", "-y", "chromium"}} {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				cmd := exec.CommandContext(ctx, "apt-get", args...)
				cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
				start := time.Now()
				out, err := cmd.CombinedOutput()
				cancel()
				if err != nil {
					return fmt.Errorf("apt-get %v: %w\n%s", args, err, out)
				}
				logf("apt-get %v: %v", args, time.Since(start).Round(time.Second))
			}
		}
	}
	out, err := exec.Command(ChromiumPath, "--version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s --version: %w\n%s", ChromiumPath, err, out)
	}
	logf("%s", bytes.TrimSpace(out))
	return nil
}

// PageHandler serves an example's page — the files of static's
// web/static folder (index.html, app.js, style.css, favicon.svg) — and
// socket.io-client's browser bundle from webDir/node_modules (installed by
// Ensure, never committed), with no-cache and a strict content policy.
func PageHandler(static fs.FS, webDir string) http.Handler {
	page, err := fs.Sub(static, "web/static")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(page)
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", files)
	for _, f := range []string{"/app.js", "/style.css", "/favicon.svg"} {
		mux.Handle("GET "+f, files)
	}
	for _, f := range []string{"socket.io.min.js", "socket.io.min.js.map"} {
		mux.HandleFunc("GET /"+f, func(w http.ResponseWriter, r *http.Request) {
			if webDir == "" {
				http.Error(w, "socket.io-client is not installed (no web folder)", http.StatusNotFound)
				return
			}
			http.ServeFile(w, r, filepath.Join(webDir, filepath.Dir(ClientJS), f))
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		mux.ServeHTTP(w, r)
	})
}
