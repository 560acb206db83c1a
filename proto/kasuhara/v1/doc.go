// Package kasuharav1 is the gRPC API's generated Go code (the Classifier
// and LexiconAdmin services and their messages), from kasuhara.proto by
// make proto; only make proto writes the *.pb.go files beside this one.
//
// It holds no logic: package server implements the services.
package kasuharav1
