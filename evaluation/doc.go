// Package evaluation scores classifiers against labelled corpora: it reads
// JSON Lines corpora ({"id","text","label"}), classifies each line into the
// JSON form kasuhara classify prints, and reports per-label precision,
// recall and F1, the confusion matrix and the misclassified messages with
// the entries that fired (Evaluate, figured as ../shared/eval/score.py
// figures them), or compares two lexicons message by message (Diff).
//
// It does not classify (package classifier does), load lexicons (package
// lexicon) or read flags (cmd/kasuhara does); it is plain Go, with no gRPC
// or HTTP.
package evaluation
