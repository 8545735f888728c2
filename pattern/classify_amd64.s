#include "textflag.h"

// func classifySSE2(b *byte, blocks int, masks *uint64)
//
// For each 64-byte block of b, writes the bitmap of its quotes, backslashes
// and bytes below 0x20 (bit k for byte k) to masks. SSE2 is part of amd64,
// so no CPU check is needed. Per 16 bytes: one load, three byte compares
// (quote, backslash, and x == min(x, 0x1f) for the control bytes), two ors
// and a PMOVMSKB.
TEXT ·classifySSE2(SB), NOSPLIT, $0-24
	MOVQ b+0(FP), SI
	MOVQ blocks+8(FP), CX
	MOVQ masks+16(FP), DI
	TESTQ CX, CX
	JEQ done
	MOVQ $0x2222222222222222, AX
	MOVQ AX, X8
	PUNPCKLQDQ X8, X8
	MOVQ $0x5c5c5c5c5c5c5c5c, AX
	MOVQ AX, X9
	PUNPCKLQDQ X9, X9
	MOVQ $0x1f1f1f1f1f1f1f1f, AX
	MOVQ AX, X10
	PUNPCKLQDQ X10, X10

loop:
	MOVOU 0(SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	MOVOU 48(SI), X3

	MOVO X0, X4
	PCMPEQB X8, X4
	MOVO X0, X5
	PCMPEQB X9, X5
	POR X5, X4
	MOVO X0, X5
	PMINUB X10, X5
	PCMPEQB X0, X5
	POR X5, X4
	PMOVMSKB X4, AX

	MOVO X1, X4
	PCMPEQB X8, X4
	MOVO X1, X5
	PCMPEQB X9, X5
	POR X5, X4
	MOVO X1, X5
	PMINUB X10, X5
	PCMPEQB X1, X5
	POR X5, X4
	PMOVMSKB X4, BX

	MOVO X2, X4
	PCMPEQB X8, X4
	MOVO X2, X5
	PCMPEQB X9, X5
	POR X5, X4
	MOVO X2, X5
	PMINUB X10, X5
	PCMPEQB X2, X5
	POR X5, X4
	PMOVMSKB X4, DX

	MOVO X3, X4
	PCMPEQB X8, X4
	MOVO X3, X5
	PCMPEQB X9, X5
	POR X5, X4
	MOVO X3, X5
	PMINUB X10, X5
	PCMPEQB X3, X5
	POR X5, X4
	PMOVMSKB X4, R8

	SHLQ $16, BX
	SHLQ $32, DX
	SHLQ $48, R8
	ORQ BX, AX
	ORQ DX, AX
	ORQ R8, AX
	MOVQ AX, 0(DI)

	ADDQ $64, SI
	ADDQ $8, DI
	DECQ CX
	JNE loop

done:
	RET
