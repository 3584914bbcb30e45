package testbed

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// The shop is the testbed's user journey, for flows with checks,
// extraction and cookies: log in (a session cookie and a token), browse
// pages of items (JSON), look at one, add it to the cart, check out. Every
// route but /login needs the session cookie; checkout also needs the token
// from the login's body in X-Token. Sessions are signed, not stored, so a
// long run holds no state. Each request goes through the worker pool like
// any other, so the shop saturates at the testbed's capacity.
//
//	POST /shop/login        {"user": U, "password": U + "-pw"} -> 200 {"user", "token"} + Set-Cookie: session; else 401
//	GET  /shop/items?page=N -> {"page": N, "items": [{"id", "name", "price"}...], "next": N+1 or null after page 3}
//	GET  /shop/items/ID     -> {"id", "stock"}
//	POST /shop/cart         {"item": ID} -> {"item", "added": true}
//	POST /shop/checkout     X-Token: token -> 201 {"order", "status": "confirmed"}; 403 without the token
//	POST /shop/logout       -> 200, Set-Cookie: session with Max-Age=0
const (
	shopPages   = 3
	shopPerPage = 3
)

var shopKey = []byte("loadshaper-testbed")

func (s *Server) shopRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /shop/login", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, s.shopLogin) })
	mux.HandleFunc("GET /shop/items", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, s.session(shopItems)) })
	mux.HandleFunc("GET /shop/items/{id}", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, s.session(shopItem)) })
	mux.HandleFunc("POST /shop/cart", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, s.session(shopCart)) })
	mux.HandleFunc("POST /shop/checkout", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, s.session(s.shopCheckout)) })
	mux.HandleFunc("POST /shop/logout", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, s.session(shopLogout)) })
}

// sign is the session's signature of a user: the cookie is user.sig, the
// token sig.
func sign(user string) string {
	m := hmac.New(sha256.New, shopKey)
	m.Write([]byte(user))
	return hex.EncodeToString(m.Sum(nil)[:12])
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
	return code
}

func (s *Server) shopLogin(w http.ResponseWriter, _ *http.Request, body []byte) int {
	var in struct{ User, Password string }
	if err := json.Unmarshal(body, &in); err != nil || in.User == "" || strings.ContainsAny(in.User, ".;= ") {
		return writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want {\"user\": ..., \"password\": ...}"})
	}
	if in.Password != in.User+"-pw" {
		return writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "bad credentials"})
	}
	sig := sign(in.User)
	http.SetCookie(w, &http.Cookie{Name: "session", Value: in.User + "." + sig, Path: "/", HttpOnly: true})
	return writeJSON(w, http.StatusOK, map[string]string{"user": in.User, "token": sig})
}

// session answers 401 without a valid session cookie, else calls h with the user.
func (s *Server) session(h func(w http.ResponseWriter, r *http.Request, body []byte, user string) int) func(http.ResponseWriter, *http.Request, []byte) int {
	return func(w http.ResponseWriter, r *http.Request, body []byte) int {
		c, err := r.Cookie("session")
		if err != nil {
			return writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "no session: log in first"})
		}
		user, sig, ok := strings.Cut(c.Value, ".")
		if !ok || !hmac.Equal([]byte(sig), []byte(sign(user))) {
			return writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "bad session"})
		}
		return h(w, r, body, user)
	}
}

type item struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

func shopItems(w http.ResponseWriter, r *http.Request, _ []byte, _ string) int {
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	out := struct {
		Page  int    `json:"page"`
		Items []item `json:"items"`
		Next  *int   `json:"next"`
	}{Page: page, Items: []item{}}
	if page <= shopPages {
		for i := 1; i <= shopPerPage; i++ {
			id := "sku-" + strconv.Itoa(page) + "-" + strconv.Itoa(i)
			out.Items = append(out.Items, item{ID: id, Name: "item " + id, Price: float64(page*10 + i)})
		}
	}
	if page < shopPages {
		n := page + 1
		out.Next = &n
	}
	return writeJSON(w, http.StatusOK, out)
}

func shopItem(w http.ResponseWriter, r *http.Request, _ []byte, _ string) int {
	id := r.PathValue("id")
	if !strings.HasPrefix(id, "sku-") {
		return writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such item"})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"id": id, "stock": 7})
}

func shopCart(w http.ResponseWriter, _ *http.Request, body []byte, _ string) int {
	var in struct{ Item string }
	if err := json.Unmarshal(body, &in); err != nil || !strings.HasPrefix(in.Item, "sku-") {
		return writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want {\"item\": \"sku-...\"}"})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"item": in.Item, "added": true})
}

var orders atomic.Int64

func (s *Server) shopCheckout(w http.ResponseWriter, r *http.Request, _ []byte, user string) int {
	if r.Header.Get("X-Token") != sign(user) {
		return writeJSON(w, http.StatusForbidden, map[string]string{"error": "X-Token missing or not this session's"})
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"order": "o-" + strconv.FormatInt(orders.Add(1), 10), "status": "confirmed"})
}

func shopLogout(w http.ResponseWriter, _ *http.Request, _ []byte, _ string) int {
	http.SetCookie(w, &http.Cookie{Name: "session", Value: "", Path: "/", MaxAge: -1})
	return writeJSON(w, http.StatusOK, map[string]bool{"logged_out": true})
}
