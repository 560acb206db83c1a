// Package server is the running kasuhara service: the gRPC Classifier and
// LexiconAdmin services with health and reflection, the HTTP/JSON API with
// its Perspective and OpenAI-moderation compatible routes, /metrics and
// /healthz, admission and request limits, lexicon reload (SIGHUP, a file
// watch, a periodic content check and the admin RPC, all through one path),
// Prometheus metrics and the lifecycle from listening to a graceful stop.
// Run(ctx, Config) is all a program needs to embed it.
//
// It does not classify (package classifier does), parse lexicons (package
// lexicon), read flags or exit the process (cmd/kasuhara does).
package server
