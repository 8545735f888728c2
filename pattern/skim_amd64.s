#include "textflag.h"
#include "go_asm.h"

// The bitmap walk, with BMI1's BLSR (clear the lowest set bit; CF when
// the word was empty) and TZCNT (the lowest set bit's index; CF when
// there is none; faster than BSF on AMD), which the CPU must have:
// skimPairsAsm returns a bail at once when skimBMI1 is false. SKIPBIT
// consumes the lowest bit left (the opening quote of a string at the
// cursor); NEXTBIT sets AX to the offset of the next one and consumes it.
// When the current word is used up, each jumps to its REFILL, out of
// line, which loads the next word and tries again, until a word has a bit
// (the bit at len(b) ends the search). R14 holds the offset of the
// current word's first byte (BX*64), kept by the refills. Labels are
// arguments: a macro is written out once per use.
#define SKIPBIT(more, again) \
again: \
	BLSRQ R12, R12 \
	JCS  more

#define NEXTBIT(more, again) \
again: \
	TZCNTQ R12, AX \
	JCS  more \
	ADDQ R14, AX \
	BLSRQ R12, R12

#define REFILL(more, again) \
more: \
	INCQ BX \
	ADDQ $64, R14 \
	MOVQ (DI)(BX*8), R12 \
	JMP  again

// func skimPairsAsm(st *state, keys *keyTable, i int) (pos, end int, child *pathNode)
//
// skimPairsGo (skim.go) in assembly, the same result for every input:
// read the comments there. b is the scanner's padded copy of the event,
// so every load below is at most a few bytes past its end, into zeros
// that no test accepts.
//
// Where skimPairsGo looks for the next special byte (quote, backslash,
// control byte) from an offset, this walks the bitmap's set bits in
// order: every special byte before the cursor has been consumed, so the
// next one is the lowest bit left in the current word, found by a
// bit-scan and cleared. That keeps the offsets of successive strings out
// of one long chain of dependent loads and shifts (load the word at the
// offset, shift, scan, add, load the byte there), which is what limited
// the search from each offset. A string's opening quote is a bit that is
// just cleared; its closing one is the next bit, which must be a quote
// (else a backslash or control byte: left to the caller). The bitmap has
// a bit at len(b), which every walk reaches before the end of masks and
// which is never a quote.
//
// A key that passes the filter (keyTable.may) is looked up in the one
// slot its hash names, as keyTable.slot does (the offsets come from
// go_asm.h): a field's plain string is recorded, another name's node is
// returned, a key that names nothing is skimmed on, and a key the slot
// cannot decide is returned with no node for the Go look-up.
//
// Registers: SI b, DI masks, R8 keys, R11 the quote of the pair's key
// (where a bail resumes), R13 the cursor in its value, R10 the depth
// inside the value, R9 its bit stack of open containers (bit d set: an
// object), BX the index of the current bitmap word, R14 its first byte's
// offset, R12 its bits not yet consumed, AX CX DX scratch. R14 is the
// goroutine register only in Go's internal ABI: this ABI0 function may
// use it, and the wrapper that calls it restores it.
TEXT ·skimPairsAsm(SB), NOSPLIT, $0-48
	MOVQ st+0(FP), AX
	MOVQ state_bPtr(AX), SI
	MOVQ state_mPtr(AX), DI
	MOVQ keys+8(FP), R8
	MOVQ i+16(FP), R11
	// Without BMI1 every pair is left to the object loop.
	CMPB ·skimBMI1(SB), $0
	JEQ  bail
	XORQ R9, R9
	XORQ R10, R10
	// The bits at and after i.
	MOVQ R11, BX
	SHRQ $6, BX
	MOVQ BX, R14
	SHLQ $6, R14
	MOVQ (DI)(BX*8), R12
	MOVQ R11, CX
	SHRQ CX, R12
	SHLQ CX, R12

pair:
	CMPB (SI)(R11*1), $0x22
	JNE  bail

pairquote:
	// b[R11] is a quote.
	SKIPBIT(skipmore1, skipped1)
	NEXTBIT(nextmore1, next1)
	// AX: the byte ending the key.
	CMPB (SI)(AX*1), $0x22
	JNE  bail
	// The filter: bit l+1 (mod 32, which BTL takes) of the first
	// byte's row, with DX = AX-R11 = l+1.
	MOVQ AX, DX
	SUBQ R11, DX
	MOVBQZX 1(SI)(R11*1), CX
	MOVL keyTable_first(R8)(CX*4), CX
	BTL  DX, CX
	JCS  lookup

colon:
	// ':' and a string, the usual value, read as one word. A string at
	// the pair's level has its own copy of the string code, so that no
	// branch on the depth is taken per string and each copy's branches
	// follow one kind of place in the event.
	LEAQ 2(AX), R13
	CMPW 1(SI)(AX*1), $0x223a
	JEQ  pairstr
	CMPB 1(SI)(AX*1), $0x3a
	JNE  bail

value:
	// A value inside the pair's value (or the pair's, when it is not a
	// plain string).
	MOVBQZX (SI)(R13*1), DX
	CMPB DX, $0x22
	JNE  other

valquote:
	// b[R13] is the opening quote of a string inside the pair's value.
	SKIPBIT(skipmore2, skipped2)
	NEXTBIT(nextmore2, next2)
	CMPB (SI)(AX*1), $0x22
	JNE  bail
	LEAQ 1(AX), R13
	// In an object, ',' and its next key's quote, read as one word.
	BTQ  R10, R9
	JCC  after
	CMPW (SI)(R13*1), $0x222c
	JNE  after
	INCQ R13
	JMP  keyquote

pairstr:
	// b[R13] is the opening quote of the pair's string value.
	SKIPBIT(skipmore5, skipped5)
	NEXTBIT(nextmore5, next5)
	CMPB (SI)(AX*1), $0x22
	JNE  bail
	LEAQ 1(AX), R13
	// ',' and the next key's quote, read as one word.
	CMPW (SI)(R13*1), $0x222c
	JNE  pairafter
	LEAQ 1(R13), R11
	JMP  pairquote

after:
	// A value has been read; b[R13] follows it.
	TESTQ R10, R10
	JNE  nested

pairafter:
	// The pair's value has been read; b[R13] follows it.
	MOVBQZX (SI)(R13*1), DX
	CMPB DX, $0x2c
	JNE  notcomma
	LEAQ 1(R13), R11
	JMP  pair

notcomma:
	CMPB DX, $0x7d
	JNE  bail
	LEAQ 1(R13), AX
	MOVQ AX, pos+24(FP)
	MOVQ $-1, end+32(FP)
	MOVQ $0, child+40(FP)
	RET

nested:
	MOVBQZX (SI)(R13*1), DX
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

keyquote:
	SKIPBIT(skipmore3, skipped3)
	NEXTBIT(nextmore3, next3)
	CMPB (SI)(AX*1), $0x22
	JNE  bail
	LEAQ 2(AX), R13
	CMPW 1(SI)(AX*1), $0x223a
	JEQ  valquote
	CMPB 1(SI)(AX*1), $0x3a
	JNE  bail
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
	// DX: b[R13], not a quote. Numbers and literals have no special
	// bytes, so no bit is consumed.
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

lookup:
	// The key b[R11+1:AX] passed the filter. At the pair's level (R10 is
	// 0 and R9 unused) R9, R10 and R13 are free: w0 in R9, w1 in R10, the
	// slot in R13; R10 is zeroed again before going on.
	MOVQ AX, DX
	SUBQ R11, DX
	DECQ DX
	CMPQ DX, $16
	JHI  undecided
	MOVQ DX, CX
	SHLQ $4, CX
	LEAQ ·keyMasks(SB), R13
	MOVQ 1(SI)(R11*1), R9
	ANDQ (R13)(CX*1), R9
	MOVQ 9(SI)(R11*1), R10
	ANDQ 8(R13)(CX*1), R10
	// keyTable.hash: (w0 ^ rotl(w1, 29) ^ l<<56) * mul >> shift
	MOVQ R10, R13
	ROLQ $29, R13
	XORQ R9, R13
	MOVQ DX, CX
	SHLQ $56, CX
	XORQ CX, R13
	IMULQ keyTable_mul(R8), R13
	MOVBQZX keyTable_shift(R8), CX
	SHRQ CX, R13
	IMUL3Q $keySlot__size, R13, R13
	ADDQ keyTable_slots(R8), R13
	CMPQ keySlot_n(R13), DX
	JNE  nothere
	CMPQ keySlot_w0(R13), R9
	JNE  nothere
	CMPQ keySlot_w1(R13), R10
	JNE  nothere
	XORQ R10, R10
	MOVQ keySlot_node(R13), R13
	// A field's plain string is recorded in hits (R9) and skimmed on;
	// anything else, or a string once hits is full, is returned.
	CMPQ pathNode_fm(R13), $0
	JEQ  hit
	CMPW 1(SI)(AX*1), $0x223a
	JNE  hit
	MOVQ st+0(FP), R9
	ADDQ $state_hits, R9
	CMPQ strHits_n(R9), $const_strHitCap
	JGE  hit
	// R10: the string's first byte (the key's closing quote is R10-3).
	LEAQ 3(AX), R10
	SKIPBIT(skipmore4, skipped4)
	NEXTBIT(nextmore4, next4)
	CMPB (SI)(AX*1), $0x22
	JNE  hitback
	MOVQ strHits_n(R9), DX
	IMUL3Q $strHit__size, DX, CX
	LEAQ strHits_h(R9)(CX*1), CX
	MOVQ R13, strHit_node(CX)
	MOVQ R10, strHit_start(CX)
	MOVQ AX, strHit_end(CX)
	INCQ DX
	MOVQ DX, strHits_n(R9)
	XORQ R10, R10
	LEAQ 1(AX), R13
	CMPW (SI)(R13*1), $0x222c
	JNE  pairafter
	LEAQ 1(R13), R11
	JMP  pairquote

hitback:
	LEAQ -3(R10), AX
	XORQ R10, R10

hit:
	MOVQ R11, pos+24(FP)
	MOVQ AX, end+32(FP)
	MOVQ R13, child+40(FP)
	RET

nothere:
	// Not the slot's name: no name at all when the table is perfect or
	// the slot empty, unless names are filed deeper than the table's keys.
	XORQ R10, R10
	CMPB keyTable_deep(R8), $0
	JNE  undecided
	CMPB keyTable_perfect(R8), $0
	JNE  colon
	CMPQ keySlot_n(R13), $0
	JLT  colon

undecided:
	XORQ R10, R10
	MOVQ R11, pos+24(FP)
	MOVQ AX, end+32(FP)
	MOVQ $0, child+40(FP)
	RET

bail:
	MOVQ R11, pos+24(FP)
	MOVQ $0, end+32(FP)
	MOVQ $0, child+40(FP)
	RET

	// A bitmap word used up: the next ones until one has a bit.
	REFILL(skipmore1, skipped1)

	REFILL(nextmore1, next1)

	REFILL(skipmore2, skipped2)

	REFILL(nextmore2, next2)

	REFILL(skipmore3, skipped3)

	REFILL(nextmore3, next3)

	REFILL(skipmore4, skipped4)

	REFILL(nextmore4, next4)

	REFILL(skipmore5, skipped5)

	REFILL(nextmore5, next5)

// func cpuHasBMI1() bool
TEXT ·cpuHasBMI1(SB), NOSPLIT, $0-1
	XORL AX, AX
	XORL CX, CX
	CPUID
	CMPL AX, $7
	JLT  nobmi1
	MOVL $7, AX
	XORL CX, CX
	CPUID
	SHRL $3, BX
	ANDL $1, BX
	MOVB BX, ret+0(FP)
	RET

nobmi1:
	MOVB $0, ret+0(FP)
	RET
