// Package fuzz holds the fuzz targets of streamauth's parsers and decoders
// (the Kafka listener's target, FuzzConn, lives with it in
// internal/kafkatest). Run one with
//
//	go test ./fuzz -run='^$' -fuzz='^FuzzDecodeSnapshot$' -fuzztime=10m
//
// and the whole campaign, every target of every package one after the
// other (10 minutes each by default), with
//
//	bash fuzz/campaign.sh
//
// which prints executions and findings per target. A crasher is written
// under the package's testdata/fuzz/<target>/ and stays there as a
// regression seed that every go test runs. CI runs each target briefly
// (.ci/run's fuzz smoke).
package fuzz
