// Package e2e holds the end-to-end test of `kasuhara milter` behind a real
// Postfix: a throwaway instance on loopback, mail sent with swaks, verdicts
// read from the delivered mailbox. It runs only with KASUHARA_POSTFIX_E2E=1,
// as root, with Debian's postfix and swaks installed (`make e2e-mail`).
package e2e
