//go:build amd64 && !purego

#include "textflag.h"

// The compression keeps the state in X1 and X2, one holding lanes
// (f, e, b, a) and the other (h, g, d, c). SHA256RNDS2 runs two rounds: it
// reads the (h, g, d, c) half from its destination, the (f, e, b, a) half
// from its source and two words of message plus round constant from X0's
// low lanes, and leaves the new (f, e, b, a) in its destination. Two rounds
// later the old (f, e, b, a) is the new (h, g, d, c), so the two registers
// swap roles at every instruction, and after four rounds they are back
// where they began.
//
// X3-X6 hold the message schedule, four words each: the words of rounds
// t..t+3 replace those of rounds t-16..t-13 in the same register.

// CLEAR_X1_X7 zeroes X1-X7, which both functions below fill with secret
// bytes or state derived from them.
#define CLEAR_X1_X7 \
	PXOR X1, X1; \
	PXOR X2, X2; \
	PXOR X3, X3; \
	PXOR X4, X4; \
	PXOR X5, X5; \
	PXOR X6, X6; \
	PXOR X7, X7

// ROUNDS4 runs the four rounds whose message words are in w, with the round
// constants at k bytes into roundK.
#define ROUNDS4(w, k) \
	MOVOU       k(AX), X0; \
	PADDL       w, X0;     \
	SHA256RNDS2 X0, X1, X2; \
	PSHUFD      $0x0e, X0, X0; \
	SHA256RNDS2 X0, X2, X1

// SCHEDULE computes in w0, which holds the words 16 rounds back, the next
// four message words: w1, w2 and w3 hold those 12, 8 and 4 rounds back.
// SHA256MSG1 adds σ0 of the words 15 back, PALIGNR picks the words 7 back
// out of w2 and w3, and SHA256MSG2 adds σ1 of the words 2 back.
#define SCHEDULE(w0, w1, w2, w3) \
	SHA256MSG1 w1, w0; \
	MOVO       w3, X7; \
	PALIGNR    $4, w2, X7; \
	PADDL      X7, w0; \
	SHA256MSG2 w3, w0

// func compress(s *shaState, block *[64]byte)
TEXT ·compress(SB), NOSPLIT, $0-16
	MOVQ  s+0(FP), DI
	MOVQ  block+8(FP), SI
	LEAQ  ·roundK(SB), AX
	MOVOU ·wordSwap(SB), X8

	MOVOU (DI), X1
	MOVOU 16(DI), X2
	MOVO  X1, X9
	MOVO  X2, X10

	MOVOU  0(SI), X3
	PSHUFB X8, X3
	MOVOU  16(SI), X4
	PSHUFB X8, X4
	MOVOU  32(SI), X5
	PSHUFB X8, X5
	MOVOU  48(SI), X6
	PSHUFB X8, X6

	ROUNDS4(X3, 0)
	ROUNDS4(X4, 16)
	ROUNDS4(X5, 32)
	ROUNDS4(X6, 48)

	SCHEDULE(X3, X4, X5, X6)
	ROUNDS4(X3, 64)
	SCHEDULE(X4, X5, X6, X3)
	ROUNDS4(X4, 80)
	SCHEDULE(X5, X6, X3, X4)
	ROUNDS4(X5, 96)
	SCHEDULE(X6, X3, X4, X5)
	ROUNDS4(X6, 112)

	SCHEDULE(X3, X4, X5, X6)
	ROUNDS4(X3, 128)
	SCHEDULE(X4, X5, X6, X3)
	ROUNDS4(X4, 144)
	SCHEDULE(X5, X6, X3, X4)
	ROUNDS4(X5, 160)
	SCHEDULE(X6, X3, X4, X5)
	ROUNDS4(X6, 176)

	SCHEDULE(X3, X4, X5, X6)
	ROUNDS4(X3, 192)
	SCHEDULE(X4, X5, X6, X3)
	ROUNDS4(X4, 208)
	SCHEDULE(X5, X6, X3, X4)
	ROUNDS4(X5, 224)
	SCHEDULE(X6, X3, X4, X5)
	ROUNDS4(X6, 240)

	// Add the state the block began with (Davies-Meyer feed-forward).
	PADDL X9, X1
	PADDL X10, X2
	MOVOU X1, (DI)
	MOVOU X2, 16(DI)

	// Leave no message word or state behind in the registers this
	// function used (the Go code around it may copy through others).
	PXOR X0, X0
	CLEAR_X1_X7
	PXOR X9, X9
	PXOR X10, X10
	RET

// func crc32c28(p *[randomBytes]byte) uint32
TEXT ·crc32c28(SB), NOSPLIT, $0-12
	MOVQ   p+0(FP), SI
	MOVL   $0xffffffff, AX
	CRC32Q 0(SI), AX
	CRC32Q 8(SI), AX
	CRC32Q 16(SI), AX
	CRC32L 24(SI), AX
	NOTL   AX
	MOVL   AX, ret+8(FP)
	RET

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// HEX16 decodes the sixteen digits at off(SI) into eight 16-bit words in
// out, each the value of a pair of digits (PMADDUBSW weighs the first by 16
// and the second by 1), and clears in X14 the lanes of every
// byte that is not a lowercase hex digit. A byte's value is c-'0' if that is
// at most 9 and c-'a'+10 if c-'a' is at most 5 (unsigned, so bytes below
// '0' or 'a' wrap around and fail).
#define HEX16(off, out) \
	MOVOU   off(SI), out; \
	MOVO    out, X1;      \
	PSUBB   X8, out;      \
	PSUBB   X9, X1;       \
	MOVO    out, X2;      \
	PMINUB  X10, X2;      \
	PCMPEQB out, X2;      \
	MOVO    X1, X3;       \
	PMINUB  X11, X3;      \
	PCMPEQB X1, X3;       \
	PADDB   X12, X1;      \
	PAND    X2, out;      \
	PAND    X3, X1;       \
	POR     X1, out;      \
	POR     X3, X2;       \
	PAND    X2, X14;      \
	PMADDUBSW X13, out

// func decodeHex64(dst *[secretBytes]byte, src *byte) bool
TEXT ·decodeHex64(SB), NOSPLIT, $0-17
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	LEAQ  ·hexConsts(SB), AX
	MOVOU 0(AX), X8   // '0' in every byte
	MOVOU 16(AX), X9  // 'a'
	MOVOU 32(AX), X10 // 9
	MOVOU 48(AX), X11 // 5
	MOVOU 64(AX), X12 // 10
	MOVOU 80(AX), X13 // 16, 1, 16, 1, ...
	PCMPEQB X14, X14  // every lane valid so far

	HEX16(0, X4)
	HEX16(16, X5)
	HEX16(32, X6)
	HEX16(48, X7)
	PACKUSWB X5, X4
	PACKUSWB X7, X6
	MOVOU    X4, 0(DI)
	MOVOU    X6, 16(DI)

	PMOVMSKB X14, AX
	CMPL     AX, $0xffff
	SETEQ    ret+16(FP)

	CLEAR_X1_X7
	PXOR X14, X14
	RET
