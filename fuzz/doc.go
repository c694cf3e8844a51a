// Package fuzz holds the fuzz targets of streamauth's parsers and decoders;
// run one with go test ./fuzz -run=^$ -fuzz=FuzzX -fuzztime=10m
package fuzz
