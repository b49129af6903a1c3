package main

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// newWebHandler serves the stored mails:
//
//	GET /                   HTML page, newest first
//	GET /messages.json      the same list as JSON
//	GET /messages/{id}.eml  one mail as received
func newWebHandler(st *store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		serveIndex(w, st.list())
	})
	mux.HandleFunc("GET /messages.json", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(w, st.list())
	})
	mux.HandleFunc("GET /messages/{file}", func(w http.ResponseWriter, r *http.Request) {
		serveRaw(w, r, st)
	})
	return mux
}

// indexPage lists the mails. html/template escapes every value, which
// matters because anyone on this machine can send the sink any mail.
var indexPage = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mailsink</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; }
article { border-top: 1px solid #ccc; padding: 0.5em 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0 1em; margin: 0; }
dt { color: #666; }
pre { background: #f4f4f5; padding: 0.75em; white-space: pre-wrap; }
</style>
</head>
<body>
<h1>mailsink</h1>
<p>{{len .}} mail{{if ne (len .) 1}}s{{end}}, newest first. Reload the page for new ones.</p>
{{range .}}
<article>
<dl>
<dt>Time</dt><dd>{{.Time.Format "2006-01-02 15:04:05 MST"}}</dd>
<dt>To</dt><dd>{{range $i, $to := .To}}{{if $i}}, {{end}}{{$to}}{{end}}</dd>
<dt>Subject</dt><dd>{{.Subject}}</dd>
</dl>
<pre>{{if .Text}}{{.Text}}{{else}}(no text part){{end}}</pre>
<a href="/messages/{{.ID}}.eml">Raw message</a>
</article>
{{end}}
</body>
</html>
`))

// setSafetyHeaders stops the browser from running or loading anything
// that a mail might smuggle into a page.
func setSafetyHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
}

func serveIndex(w http.ResponseWriter, messages []message) {
	setSafetyHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// An error here is a failed write, which cannot be reported to the client.
	_ = indexPage.Execute(w, messages)
}

// jsonMessage is one entry of GET /messages.json.
type jsonMessage struct {
	ID      int       `json:"id"`
	Time    time.Time `json:"time"`
	From    string    `json:"from"`
	To      []string  `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
}

func serveJSON(w http.ResponseWriter, messages []message) {
	list := make([]jsonMessage, 0, len(messages))
	for _, msg := range messages {
		list = append(list, jsonMessage{
			ID: msg.ID, Time: msg.Time, From: msg.From, To: msg.To, Subject: msg.Subject, Text: msg.Text,
		})
	}
	setSafetyHeaders(w)
	w.Header().Set("Content-Type", "application/json")
	// An error here is a failed write, which cannot be reported to the client.
	_ = json.NewEncoder(w).Encode(list)
}

// serveRaw sends one mail as received. It is served as text/plain, so a
// browser shows it instead of downloading it.
func serveRaw(w http.ResponseWriter, r *http.Request, st *store) {
	idText, ok := strings.CutSuffix(r.PathValue("file"), ".eml")
	id, err := strconv.Atoi(idText)
	if !ok || err != nil || id < 1 {
		http.NotFound(w, r)
		return
	}
	msg, found := st.get(id)
	if !found {
		http.Error(w, "mail "+strconv.Itoa(id)+" not found: the sink keeps only the last "+
			strconv.Itoa(maxMessages), http.StatusNotFound)
		return
	}
	setSafetyHeaders(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(msg.Raw)
}
