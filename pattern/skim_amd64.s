#include "textflag.h"

// func skimPairsAsm(b *byte, masks *uint64, filter *[4]uint64, i int) (pos, why, end int)
//
// skimPairsGo (skim.go) in assembly, the same result for every input:
// read the comments there. b is the scanner's padded copy of the event,
// so every load below is at most a few bytes past its end, into zeros
// that no test accepts. Registers: SI b, DI masks, R8 filter, R11 the
// quote of the pair's key (where a bail resumes), R13 the cursor in its
// value, R10 the depth inside the value, R9 its bit stack of open
// containers (bit d set: an object), AX BX CX DX R12 scratch.
//
// Each "next special byte" search is written out where it is used: the
// bitmap word of the offset shifted down to it (the shift count in CX),
// then the following words until one has a bit; the bitmap has a bit at
// len(b), so the search ends inside masks.
TEXT ·skimPairsAsm(SB), NOSPLIT, $0-56
	MOVQ b+0(FP), SI
	MOVQ masks+8(FP), DI
	MOVQ filter+16(FP), R8
	MOVQ i+24(FP), R11
	XORQ R9, R9
	XORQ R10, R10

pair:
	CMPB (SI)(R11*1), $0x22
	JNE  bail
	LEAQ 1(R11), AX
	MOVQ AX, BX
	SHRQ $6, BX
	MOVQ (DI)(BX*8), DX
	MOVQ AX, CX
	SHRQ CX, DX
	TESTQ DX, DX
	JZ   pairmore
	BSFQ DX, DX
	ADDQ DX, AX

pairkey:
	// AX: the byte ending the key.
	CMPB (SI)(AX*1), $0x22
	JNE  bail
	// The filter bit of (length, first byte): (l*7 + c) & 255.
	MOVQ AX, BX
	SUBQ R11, BX
	DECQ BX
	LEAQ (BX)(BX*2), DX
	LEAQ (BX)(DX*2), DX
	MOVBQZX 1(SI)(R11*1), CX
	ADDQ CX, DX
	ANDQ $255, DX
	MOVQ DX, BX
	SHRQ $6, BX
	MOVQ (R8)(BX*8), CX
	BTQ  DX, CX
	JCS  hit
	CMPB 1(SI)(AX*1), $0x3a
	JNE  bail
	LEAQ 2(AX), R13

value:
	MOVBQZX (SI)(R13*1), DX
	CMPB DX, $0x22
	JNE  other
	LEAQ 1(R13), AX
	MOVQ AX, BX
	SHRQ $6, BX
	MOVQ (DI)(BX*8), DX
	MOVQ AX, CX
	SHRQ CX, DX
	TESTQ DX, DX
	JZ   strmore
	BSFQ DX, DX
	ADDQ DX, AX

strend:
	CMPB (SI)(AX*1), $0x22
	JNE  bail
	LEAQ 1(AX), R13

after:
	// A value has been read; b[R13] follows it.
	MOVBQZX (SI)(R13*1), DX
	TESTQ R10, R10
	JNE  nested
	CMPB DX, $0x2c
	JNE  notcomma
	LEAQ 1(R13), R11
	JMP  pair

notcomma:
	CMPB DX, $0x7d
	JNE  bail
	LEAQ 1(R13), AX
	MOVQ AX, pos+32(FP)
	MOVQ $0, why+40(FP)
	MOVQ $0, end+48(FP)
	RET

nested:
	BTQ  R10, R9
	JCC  inarray
	CMPB DX, $0x2c
	JEQ  nextkey
	CMPB DX, $0x7d
	JNE  bail
	INCQ R13
	DECQ R10
	JMP  after

nextkey:
	INCQ R13

key:
	// b[R13] should be the quote of a key inside the value.
	CMPB (SI)(R13*1), $0x22
	JNE  bail
	LEAQ 1(R13), AX
	MOVQ AX, BX
	SHRQ $6, BX
	MOVQ (DI)(BX*8), DX
	MOVQ AX, CX
	SHRQ CX, DX
	TESTQ DX, DX
	JZ   keymore
	BSFQ DX, DX
	ADDQ DX, AX

keyend:
	CMPB (SI)(AX*1), $0x22
	JNE  bail
	CMPB 1(SI)(AX*1), $0x3a
	JNE  bail
	LEAQ 2(AX), R13
	JMP  value

inarray:
	CMPB DX, $0x2c
	JEQ  nextelem
	CMPB DX, $0x5d
	JNE  bail
	INCQ R13
	DECQ R10
	JMP  after

nextelem:
	INCQ R13
	JMP  value

other:
	// DX: b[R13], not a quote.
	CMPB DX, $0x7b
	JEQ  openobj
	CMPB DX, $0x5b
	JEQ  openarr
	CMPB DX, $0x74
	JEQ  littrue
	CMPB DX, $0x6e
	JEQ  litnull
	CMPB DX, $0x66
	JEQ  litfalse

	// A number: '-'? ('0' | [1-9][0-9]*) ('.' [0-9]+)?, no exponent.
	MOVQ R13, AX
	CMPB DX, $0x2d
	JNE  numint
	INCQ AX
	MOVBQZX (SI)(AX*1), DX

numint:
	CMPB DX, $0x30
	JEQ  numzero
	SUBL $0x31, DX
	CMPL DX, $8
	JHI  bail

numdigits:
	INCQ AX
	MOVBQZX (SI)(AX*1), DX
	SUBL $0x30, DX
	CMPL DX, $9
	JLS  numdigits
	JMP  numfrac

numzero:
	INCQ AX

numfrac:
	MOVBQZX (SI)(AX*1), DX
	CMPB DX, $0x2e
	JNE  numexp
	INCQ AX
	MOVBQZX (SI)(AX*1), DX
	SUBL $0x30, DX
	CMPL DX, $9
	JHI  bail

fracdigits:
	INCQ AX
	MOVBQZX (SI)(AX*1), DX
	SUBL $0x30, DX
	CMPL DX, $9
	JLS  fracdigits
	MOVBQZX (SI)(AX*1), DX

numexp:
	// 'e' or 'E' (0x20 folds one onto the other): left to the caller.
	ORL  $0x20, DX
	CMPB DX, $0x65
	JEQ  bail
	MOVQ AX, R13
	JMP  after

littrue:
	CMPL (SI)(R13*1), $0x65757274
	JNE  bail
	ADDQ $4, R13
	JMP  after

litnull:
	CMPL (SI)(R13*1), $0x6c6c756e
	JNE  bail
	ADDQ $4, R13
	JMP  after

litfalse:
	CMPL (SI)(R13*1), $0x736c6166
	JNE  bail
	CMPB 4(SI)(R13*1), $0x65
	JNE  bail
	ADDQ $5, R13
	JMP  after

openobj:
	INCQ R10
	CMPQ R10, $63
	JGT  bail
	BTSQ R10, R9
	INCQ R13
	MOVBQZX (SI)(R13*1), DX
	CMPB DX, $0x22
	JEQ  key
	CMPB DX, $0x7d
	JNE  bail
	INCQ R13
	DECQ R10
	JMP  after

openarr:
	INCQ R10
	CMPQ R10, $63
	JGT  bail
	BTRQ R10, R9
	INCQ R13
	CMPB (SI)(R13*1), $0x5d
	JNE  value
	INCQ R13
	DECQ R10
	JMP  after

hit:
	// AX: the key's closing quote.
	MOVQ R11, pos+32(FP)
	MOVQ $1, why+40(FP)
	MOVQ AX, end+48(FP)
	RET

bail:
	MOVQ R11, pos+32(FP)
	MOVQ $2, why+40(FP)
	MOVQ $0, end+48(FP)
	RET

	// The rest of the special-byte searches: the words after the first.
pairmore:
	INCQ BX
	MOVQ (DI)(BX*8), DX
	TESTQ DX, DX
	JZ   pairmore
	BSFQ DX, DX
	SHLQ $6, BX
	LEAQ (BX)(DX*1), AX
	JMP  pairkey

strmore:
	INCQ BX
	MOVQ (DI)(BX*8), DX
	TESTQ DX, DX
	JZ   strmore
	BSFQ DX, DX
	SHLQ $6, BX
	LEAQ (BX)(DX*1), AX
	JMP  strend

keymore:
	INCQ BX
	MOVQ (DI)(BX*8), DX
	TESTQ DX, DX
	JZ   keymore
	BSFQ DX, DX
	SHLQ $6, BX
	LEAQ (BX)(DX*1), AX
	JMP  keyend
