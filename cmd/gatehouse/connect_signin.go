package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/reserved"
)

// signInWait bounds how long the command waits for the browser.
const signInWait = 5 * time.Minute

// cachedToken is a cache file: a CLI session token and its expiry.
type cachedToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// cachePath is where host's token is cached: $XDG_CACHE_HOME/gatehouse/HOST.json
// (the user's cache directory when XDG_CACHE_HOME is unset).
func cachePath(host string) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the session (set XDG_CACHE_HOME, or use --token): %w", err)
	}
	name := strings.NewReplacer(":", "_", "/", "_", "\\", "_").Replace(strings.ToLower(host))
	return filepath.Join(dir, "gatehouse", name+".json"), nil
}

// readCachedToken returns the cached token unless it is missing, unreadable
// or expires within a minute.
func readCachedToken(file string, now time.Time) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	var t cachedToken
	if json.Unmarshal(b, &t) != nil || !now.Add(time.Minute).Before(t.ExpiresAt) {
		return ""
	}
	return t.Token
}

// writeCachedToken saves t, readable by the user only.
func writeCachedToken(file string, t cachedToken) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	b, _ := json.Marshal(t)
	tmp, err := os.CreateTemp(filepath.Dir(file), ".token-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// currentToken returns the token to send. refused is a token the gateway
// just refused: it is forgotten and, unless another connection has
// signed in since, the user signs in again. One sign-in at a time.
func (c *connectClient) currentToken(ctx context.Context, refused string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fixed || (c.token != "" && c.token != refused) {
		return c.token, nil
	}
	if c.token != "" {
		c.token = ""
		_ = os.Remove(c.cacheFile)
	}
	signIn := c.browserSignIn
	if c.device {
		signIn = c.deviceSignIn
	}
	t, err := signIn(ctx)
	if err != nil {
		return "", err
	}
	if err := writeCachedToken(c.cacheFile, t); err != nil {
		fmt.Fprintf(c.stderr, "gatehouse: cannot cache the session in %s (you will sign in again next time): %v\n", c.cacheFile, err)
	}
	c.token = t.Token
	return c.token, nil
}

// browserSignIn signs the user in through the browser: the gateway sends
// the browser back to a loopback callback with a code, which the command
// trades for a token.
func (c *connectClient) browserSignIn(ctx context.Context) (cachedToken, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return cachedToken{}, fmt.Errorf("sign-in: cannot listen on loopback for the browser's answer: %w", err)
	}
	defer ln.Close()
	state := rand.Text()
	port := ln.Addr().(*net.TCPAddr).Port
	login := c.base.String() + reserved.CLILogin + "?port=" + strconv.Itoa(port) + "&state=" + state
	codes := make(chan string, 1)
	srv := &http.Server{Handler: callbackHandler(state, codes), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	fmt.Fprintf(c.stderr, "gatehouse: sign in to %s in your browser:\n\n    %s\n\n", c.base.Host, login)
	if !c.noBrowser {
		if err := c.openBrowser(login); err != nil {
			fmt.Fprintln(c.stderr, "gatehouse: could not open a browser; open the address above")
		}
	}
	ctx, cancel := context.WithTimeout(ctx, signInWait)
	defer cancel()
	select {
	case code := <-codes:
		return c.exchange(ctx, code)
	case <-ctx.Done():
		return cachedToken{}, errors.New("sign-in: no answer from the browser (waited 5 minutes, or interrupted); run the command again")
	}
}

// callbackHandler serves the loopback callback: a code with the right
// state goes to codes, once.
func callbackHandler(state string, codes chan<- string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Cache-Control", "no-store")
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 || q.Get("code") == "" {
			http.Error(w, "This sign-in answer is not for this gatehouse connect (the state does not match). Start again from the command.", http.StatusBadRequest)
			return
		}
		select {
		case codes <- q.Get("code"):
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "Signed in. You can close this tab and go back to the terminal.\n")
		default:
			http.Error(w, "This sign-in was already completed.", http.StatusConflict)
		}
	})
	return mux
}

// exchange trades a code for a token at reserved.CLIToken.
func (c *connectClient) exchange(ctx context.Context, code string) (cachedToken, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+reserved.CLIToken,
		strings.NewReader(url.Values{"code": {code}}.Encode()))
	if err != nil {
		return cachedToken{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return cachedToken{}, fmt.Errorf("sign-in: cannot reach the gateway at %s: %w", c.base.Host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Desc string `json:"error_description"`
		}
		if json.Unmarshal(body, &e) != nil || e.Desc == "" {
			e.Desc = resp.Status
		}
		return cachedToken{}, fmt.Errorf("sign-in failed: %s refused the code: %s", c.base.Host, e.Desc)
	}
	var t cachedToken
	if err := json.Unmarshal(body, &t); err != nil || t.Token == "" || t.ExpiresAt.IsZero() {
		return cachedToken{}, fmt.Errorf("sign-in failed: %s answered the code with something other than a token", c.base.Host)
	}
	fmt.Fprintf(c.stderr, "gatehouse: signed in to %s until %s\n", c.base.Host, t.ExpiresAt.Local().Format(time.DateTime))
	return t, nil
}

// xdgOpen opens url in the user's browser.
func xdgOpen(u string) error {
	cmd := exec.Command("xdg-open", u)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
