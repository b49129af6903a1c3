// Package mail sends the one-time codes and security notices of the
// second factor over SMTP, with go-mail.
//
// New checks a Config and parses the templates once: the embedded ones
// under templates/<language>/<kind>.tmpl, each replaced by the file of the
// same name in Config.TemplatesDir when that folder has one. Send renders
// one Message in the recipient's language and delivers it on a connection
// of its own, so a Mailer is safe for concurrent use.
//
// Errors never contain the code of a Message or the SMTP password: both are
// replaced by "[redacted]" in any text that comes back from the server or
// from go-mail.
package mail
