package testbed

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestShopJourney(t *testing.T) {
	s, err := Start(Config{Workers: 4, Capacity: 1000, Cost: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	do := func(method, path, body string, hdr map[string]string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %d %q is not JSON", method, path, resp.StatusCode, b)
		}
		return resp.StatusCode, out
	}
	if code, _ := do("GET", "/shop/items", "", nil); code != 401 {
		t.Fatalf("items without a session: %d", code)
	}
	if code, _ := do("POST", "/shop/login", `{"user":"ann","password":"nope"}`, nil); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	code, login := do("POST", "/shop/login", `{"user":"ann","password":"ann-pw"}`, nil)
	token, _ := login["token"].(string)
	if code != 200 || token == "" || len(jar.Cookies(mustURL(t, s.URL))) != 1 {
		t.Fatalf("login: %d %v, cookies %v", code, login, jar.Cookies(mustURL(t, s.URL)))
	}
	pages := 0
	for next := any(float64(1)); next != nil; pages++ {
		n, _ := next.(float64)
		code, page := do("GET", "/shop/items?page="+strconv.Itoa(int(n)), "", nil)
		items, _ := page["items"].([]any)
		if code != 200 || len(items) != 3 {
			t.Fatalf("page %v: %d %v", next, code, page)
		}
		next = page["next"]
	}
	if pages != 3 {
		t.Fatalf("%d pages, want 3", pages)
	}
	if code, item := do("GET", "/shop/items/sku-1-1", "", nil); code != 200 || item["stock"] != float64(7) {
		t.Fatalf("item: %d %v", code, item)
	}
	if code, _ := do("POST", "/shop/cart", `{"item":"sku-1-1"}`, nil); code != 200 {
		t.Fatalf("cart: %d", code)
	}
	if code, _ := do("POST", "/shop/checkout", "", nil); code != 403 {
		t.Fatalf("checkout without the token: %d", code)
	}
	if code, order := do("POST", "/shop/checkout", "", map[string]string{"X-Token": token}); code != 201 || order["status"] != "confirmed" {
		t.Fatalf("checkout: %d %v", code, order)
	}
	if code, _ := do("POST", "/shop/logout", "", nil); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	if code, _ := do("GET", "/shop/items", "", nil); code != 401 {
		t.Fatalf("items after logout (the cookie was deleted): %d", code)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
