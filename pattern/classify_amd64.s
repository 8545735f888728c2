#include "textflag.h"

// func classifySSE2(b *byte, blocks int, masks *uint64, dst *byte)
//
// It also copies the blocks to dst (the scanner's padded copy of the
// event), from the registers it loaded them into.
//
// For each 64-byte block of b, writes the bitmap of its quotes, backslashes
// and bytes below 0x20 (bit k for byte k) to masks. SSE2 is part of amd64,
// so no CPU check is needed. Per 16 bytes x: y = x^0x02 is at most 0x20
// exactly for the quote and the control bytes (the xor maps 0x22 to 0x20
// and keeps every byte below 0x20 below it), found as y == min(y, 0x20);
// one more compare finds the backslashes; PMOVMSKB gathers the 16 bits.
TEXT ·classifySSE2(SB), NOSPLIT, $0-32
	MOVQ b+0(FP), SI
	MOVQ blocks+8(FP), CX
	MOVQ masks+16(FP), DI
	MOVQ dst+24(FP), R9
	TESTQ CX, CX
	JEQ done
	MOVQ $0x0202020202020202, AX
	MOVQ AX, X8
	PUNPCKLQDQ X8, X8
	MOVQ $0x5c5c5c5c5c5c5c5c, AX
	MOVQ AX, X9
	PUNPCKLQDQ X9, X9
	MOVQ $0x2020202020202020, AX
	MOVQ AX, X10
	PUNPCKLQDQ X10, X10

loop:
	MOVOU 0(SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	MOVOU 48(SI), X3
	MOVOU X0, 0(R9)
	MOVOU X1, 16(R9)
	MOVOU X2, 32(R9)
	MOVOU X3, 48(R9)

	MOVO X0, X4
	PXOR X8, X4
	MOVO X4, X5
	PMINUB X10, X5
	PCMPEQB X4, X5
	PCMPEQB X9, X0
	POR X0, X5
	PMOVMSKB X5, AX

	MOVO X1, X4
	PXOR X8, X4
	MOVO X4, X5
	PMINUB X10, X5
	PCMPEQB X4, X5
	PCMPEQB X9, X1
	POR X1, X5
	PMOVMSKB X5, BX

	MOVO X2, X4
	PXOR X8, X4
	MOVO X4, X5
	PMINUB X10, X5
	PCMPEQB X4, X5
	PCMPEQB X9, X2
	POR X2, X5
	PMOVMSKB X5, DX

	MOVO X3, X4
	PXOR X8, X4
	MOVO X4, X5
	PMINUB X10, X5
	PCMPEQB X4, X5
	PCMPEQB X9, X3
	POR X3, X5
	PMOVMSKB X5, R8

	SHLQ $16, BX
	SHLQ $32, DX
	SHLQ $48, R8
	ORQ BX, AX
	ORQ DX, AX
	ORQ R8, AX
	MOVQ AX, 0(DI)

	ADDQ $64, SI
	ADDQ $64, R9
	ADDQ $8, DI
	DECQ CX
	JNE loop

done:
	RET

// func classifyAVX(b *byte, blocks int, masks *uint64, dst *byte)
//
// classifySSE2 in AVX's three-operand (VEX) encoding, still 16 bytes per
// instruction: the same operations without the register copies SSE2's
// two-operand forms need, 6 instructions per 16 bytes instead of 8. (The
// 32-byte AVX2 form was slower on the development machine; this one is
// 0.97-1.00x the time of SSE2 there.) Only when cpuHasAVX.
TEXT ·classifyAVX(SB), NOSPLIT, $0-32
	MOVQ b+0(FP), SI
	MOVQ blocks+8(FP), CX
	MOVQ masks+16(FP), DI
	MOVQ dst+24(FP), R9
	TESTQ CX, CX
	JEQ avxdone
	MOVQ $0x0202020202020202, AX
	MOVQ AX, X8
	PUNPCKLQDQ X8, X8
	MOVQ $0x5c5c5c5c5c5c5c5c, AX
	MOVQ AX, X9
	PUNPCKLQDQ X9, X9
	MOVQ $0x2020202020202020, AX
	MOVQ AX, X10
	PUNPCKLQDQ X10, X10

avxloop:
	MOVOU 0(SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	MOVOU 48(SI), X3
	MOVOU X0, 0(R9)
	MOVOU X1, 16(R9)
	MOVOU X2, 32(R9)
	MOVOU X3, 48(R9)

	VPXOR X8, X0, X4
	VPMINUB X10, X4, X5
	VPCMPEQB X4, X5, X5
	VPCMPEQB X9, X0, X0
	VPOR X0, X5, X5
	VPMOVMSKB X5, AX

	VPXOR X8, X1, X4
	VPMINUB X10, X4, X5
	VPCMPEQB X4, X5, X5
	VPCMPEQB X9, X1, X1
	VPOR X1, X5, X5
	VPMOVMSKB X5, BX

	VPXOR X8, X2, X4
	VPMINUB X10, X4, X5
	VPCMPEQB X4, X5, X5
	VPCMPEQB X9, X2, X2
	VPOR X2, X5, X5
	VPMOVMSKB X5, DX

	VPXOR X8, X3, X4
	VPMINUB X10, X4, X5
	VPCMPEQB X4, X5, X5
	VPCMPEQB X9, X3, X3
	VPOR X3, X5, X5
	VPMOVMSKB X5, R8

	SHLQ $16, BX
	SHLQ $32, DX
	SHLQ $48, R8
	ORQ BX, AX
	ORQ DX, AX
	ORQ R8, AX
	MOVQ AX, 0(DI)

	ADDQ $64, SI
	ADDQ $64, R9
	ADDQ $8, DI
	DECQ CX
	JNE avxloop

avxdone:
	RET

// func cpuHasAVX() bool: CPUID says AVX and OSXSAVE, and XGETBV says the OS
// saves the XMM and YMM state.
TEXT ·cpuHasAVX(SB), NOSPLIT, $0-1
	MOVL $1, AX
	XORL CX, CX
	CPUID
	MOVL CX, DX
	ANDL $0x18000000, DX
	CMPL DX, $0x18000000
	JNE  noavx
	XORL CX, CX
	XGETBV
	ANDL $6, AX
	CMPL AX, $6
	JNE  noavx
	MOVB $1, ret+0(FP)
	RET

noavx:
	MOVB $0, ret+0(FP)
	RET
