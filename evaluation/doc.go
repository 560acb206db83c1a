// Package evaluation scores classifiers against labelled corpora: it reads
// JSON Lines corpora ({"id","text","label"}), classifies each line into the
// JSON form kasuhara classify prints, and reports per-label precision,
// recall and F1, the confusion matrix and the misclassified messages with
// the entries that fired (Evaluate, figured as ../shared/eval/score.py
// figures them), or compares two lexicons message by message (Diff). For
// lexicon lint it gathers a lexicon's problems as file and line (Lint) and
// which entries and phrases never fire on a set of corpora (Cover).
//
// It does not classify (package classifier does), load lexicons (package
// lexicon) or read flags (cmd/kasuhara does); it is plain Go, with no gRPC
// or HTTP.
package evaluation
