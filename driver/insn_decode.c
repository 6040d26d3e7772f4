// SPDX-License-Identifier: GPL-2.0
/*
 * insn_decode.c: decodes the instruction behind an MMIO exit far enough to
 * emulate its memory access (see insn_decode.h for the contract).
 *
 * Environment: any. Pure function of its arguments; only insn_decode.h is
 * included so the file builds unchanged in the module and in userspace.
 *
 * Every byte goes through insn_fetch(), the only place that indexes @bytes,
 * so the bounds (@avail and the 15-byte limit) are checked in one spot.
 */
#include "insn_decode.h"

enum {
	INSN_REG_RAX, INSN_REG_RCX, INSN_REG_RDX, INSN_REG_RBX,
	INSN_REG_RSP, INSN_REG_RBP, INSN_REG_RSI, INSN_REG_RDI,
};

#define INSN_REX_W	0x8
#define INSN_REX_R	0x4
#define INSN_REX_X	0x2
#define INSN_REX_B	0x1

/* Bytes of the instruction seen so far. */
struct insn_cursor {
	const uint8_t	*bytes;
	unsigned int	avail;
	unsigned int	pos;
};

/* What the prefixes said, once they are all read. */
struct insn_prefixes {
	bool		lock;
	bool		rep;		/* F2 or F3 */
	bool		opsize;		/* 66 */
	bool		addrsize;	/* 67 */
	int		seg;		/* effective override, -1 if none */
	unsigned int	rex;		/* the REX byte right before the opcode, 0 if none */
};

static uint64_t insn_trunc(uint64_t v, unsigned int bytes)
{
	return bytes >= 8 ? v : v & ((1ull << (8 * bytes)) - 1);
}

static uint64_t insn_sext(uint64_t v, unsigned int bytes)
{
	uint64_t sign;

	if (bytes >= 8)
		return v;
	sign = 1ull << (8 * bytes - 1);
	return (insn_trunc(v, bytes) ^ sign) - sign;
}

/*
 * Takes the next @n bytes, little-endian. The 15-byte limit is checked
 * before @avail: an instruction known to be too long stays too long however
 * many more bytes the caller could fetch.
 */
static int insn_fetch(struct insn_cursor *c, unsigned int n, uint64_t *val)
{
	uint64_t v = 0;
	unsigned int i;

	if (c->pos + n > INSN_MAX_LEN)
		return INSN_E_TOO_LONG;
	if (c->pos + n > c->avail)
		return INSN_E_TRUNCATED;
	for (i = 0; i < n; i++)
		v |= (uint64_t)c->bytes[c->pos + i] << (8 * i);
	c->pos += n;
	*val = v;
	return 0;
}

static int insn_fetch8(struct insn_cursor *c, unsigned int *val)
{
	uint64_t v;
	int rc;

	rc = insn_fetch(c, 1, &v);
	if (rc == 0)
		*val = (unsigned int)v;
	return rc;
}

/*
 * Reads legacy prefixes and REX up to the opcode. Group members repeat
 * freely and the last one of a kind wins, as on hardware. In 64-bit mode a
 * REX counts only right before the opcode (a legacy prefix after it voids
 * it) and the CS/DS/ES/SS overrides are ignored (SDM 2.2.1, 3.3.7.1).
 */
static int insn_prefixes(struct insn_cursor *c, enum insn_mode mode,
			 struct insn_prefixes *p, unsigned int *opcode)
{
	static const int seg_of[4] = {
		[0] = INSN_SEG_ES, [1] = INSN_SEG_CS, [2] = INSN_SEG_SS, [3] = INSN_SEG_DS,
	};
	unsigned int b;
	int rc;

	for (;;) {
		rc = insn_fetch8(c, &b);
		if (rc)
			return rc;
		switch (b) {
		case 0xf0:
			p->lock = true;
			break;
		case 0xf2:
		case 0xf3:
			p->rep = true;
			break;
		case 0x66:
			p->opsize = true;
			break;
		case 0x67:
			p->addrsize = true;
			break;
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
			if (mode != INSN_MODE_64)
				p->seg = seg_of[(b >> 3) & 3];
			break;
		case 0x64:
			p->seg = INSN_SEG_FS;
			break;
		case 0x65:
			p->seg = INSN_SEG_GS;
			break;
		default:
			if (mode == INSN_MODE_64 && (b & 0xf0) == 0x40) {
				p->rex = b;
				continue;
			}
			*opcode = b;
			return 0;
		}
		p->rex = 0;
	}
}

/* 16-bit ModRM forms (SDM Table 2-1); @modrm has mod != 3. A lone SI or DI is the base. */
static int insn_ea16(struct insn_cursor *c, unsigned int modrm, struct insn_mmio *out)
{
	static const int base[8] = {
		INSN_REG_RBX, INSN_REG_RBX, INSN_REG_RBP, INSN_REG_RBP,
		INSN_REG_RSI, INSN_REG_RDI, INSN_REG_RBP, INSN_REG_RBX,
	};
	static const int index[8] = {
		INSN_REG_RSI, INSN_REG_RDI, INSN_REG_RSI, INSN_REG_RDI, -1, -1, -1, -1,
	};
	unsigned int mod = modrm >> 6, rm = modrm & 7;
	uint64_t disp = 0;
	int rc = 0;

	out->base = base[rm];
	out->index = index[rm];
	out->scale = out->index >= 0 ? 1 : 0;
	if (mod == 0 && rm == 6) {
		out->base = -1;
		rc = insn_fetch(c, 2, &disp);
		disp = insn_sext(disp, 2);
	} else if (mod == 1) {
		rc = insn_fetch(c, 1, &disp);
		disp = insn_sext(disp, 1);
	} else if (mod == 2) {
		rc = insn_fetch(c, 2, &disp);
		disp = insn_sext(disp, 2);
	}
	out->disp = disp;
	return rc;
}

/*
 * 32- and 64-bit ModRM/SIB forms (SDM Tables 2-2, 2-3, 2-7). REX.B extends
 * the register but not the special cases: rm = 100 still means a SIB byte,
 * mod = 00 with rm or SIB base 101 still means no base register (RIP in
 * 64-bit mode for rm), so r12 needs a SIB and r13 a displacement.
 */
static int insn_ea32(struct insn_cursor *c, unsigned int modrm, unsigned int rex,
		     enum insn_mode mode, struct insn_mmio *out)
{
	unsigned int mod = modrm >> 6, rm = modrm & 7, sib;
	uint64_t disp = 0;
	int rc;

	if (rm == 4) {
		rc = insn_fetch8(c, &sib);
		if (rc)
			return rc;
		out->index = (int)(((sib >> 3) & 7) | (rex & INSN_REX_X ? 8 : 0));
		if (out->index == INSN_REG_RSP) {
			out->index = -1;
			out->scale = 0;
		} else {
			out->scale = 1u << (sib >> 6);
		}
		out->base = (int)((sib & 7) | (rex & INSN_REX_B ? 8 : 0));
		if (mod == 0 && (sib & 7) == 5) {
			out->base = -1;
			mod = 2;	/* disp32 follows */
		}
	} else if (mod == 0 && rm == 5) {
		out->rip_relative = mode == INSN_MODE_64;
		mod = 2;
	} else {
		out->base = (int)(rm | (rex & INSN_REX_B ? 8 : 0));
	}

	if (mod == 1) {
		rc = insn_fetch(c, 1, &disp);
		disp = insn_sext(disp, 1);
	} else if (mod == 2) {
		rc = insn_fetch(c, 4, &disp);
		disp = insn_sext(disp, 4);
	} else {
		rc = 0;
	}
	out->disp = disp;
	return rc;
}

/* The register named by ModRM.reg for an operand of @size bytes. */
static void insn_set_reg(struct insn_mmio *out, unsigned int modrm, unsigned int rex,
			 unsigned int size)
{
	int reg = (int)(((modrm >> 3) & 7) | (rex & INSN_REX_R ? 8 : 0));

	/* Without any REX, byte registers 4..7 are AH CH DH BH, not SPL..DIL. */
	if (size == 1 && !rex && reg >= 4) {
		reg -= 4;
		out->high8 = true;
	}
	out->reg = reg;
}

int insn_decode_mmio(const uint8_t *bytes, unsigned int avail, enum insn_mode mode,
		     struct insn_mmio *out)
{
	struct insn_cursor c = { .bytes = bytes, .avail = avail, .pos = 0 };
	struct insn_prefixes p = { .seg = -1 };
	unsigned int opcode, b, modrm = 0, osize, bsize;
	bool has_modrm = true;
	uint64_t v;
	int rc;

	*out = (struct insn_mmio){ .reg = -1, .base = -1, .index = -1, .seg = INSN_SEG_DS };

	rc = insn_prefixes(&c, mode, &p, &opcode);
	if (rc)
		goto done;
	if (opcode == 0x0f) {
		rc = insn_fetch8(&c, &b);
		if (rc)
			goto done;
		opcode = 0x0f00 | b;
	}
	out->opcode = opcode;

	if (mode == INSN_MODE_64)
		osize = p.rex & INSN_REX_W ? 8 : p.opsize ? 2 : 4;
	else
		osize = (mode == INSN_MODE_16) != p.opsize ? 2 : 4;
	if (mode == INSN_MODE_64)
		out->addr_size = p.addrsize ? 4 : 8;
	else
		out->addr_size = (mode == INSN_MODE_16) != p.addrsize ? 2 : 4;
	bsize = opcode & 1 ? osize : 1;		/* bit 0 is the w bit in all but 0F xx, 63 */

	switch (opcode) {
	case 0x88:
	case 0x89:
		out->op = INSN_OP_STORE_REG;
		out->size = bsize;
		break;
	case 0x8a:
	case 0x8b:
		out->op = INSN_OP_LOAD;
		out->size = out->dest_size = bsize;
		break;
	case 0xc6:
	case 0xc7:
		out->op = INSN_OP_STORE_IMM;
		out->size = bsize;
		break;
	case 0x0fb6:
	case 0x0fb7:
	case 0x0fbe:
	case 0x0fbf:
		out->op = INSN_OP_LOAD;
		out->size = opcode & 1 ? 2 : 1;
		out->dest_size = osize;
		out->sign_extend = opcode & 8;
		out->zero_extend = !out->sign_extend;
		break;
	case 0x63:
		/*
		 * ARPL outside 64-bit mode. MOVSXD reads 32 bits, or 16 with
		 * 66 and no REX.W: that is Intel's reading (SDM MOVSX/MOVSXD,
		 * "MOVSXD r16, r/m16"); AMD reads 32 there, but VT-x is Intel.
		 */
		if (mode != INSN_MODE_64) {
			rc = INSN_E_UNSUPPORTED;
			goto done;
		}
		out->op = INSN_OP_LOAD;
		out->size = osize == 2 ? 2 : 4;
		out->dest_size = osize;
		out->sign_extend = true;
		break;
	case 0xa0:
	case 0xa1:
	case 0xa2:
	case 0xa3:
		out->op = opcode & 2 ? INSN_OP_STORE_REG : INSN_OP_LOAD;
		out->size = bsize;
		out->dest_size = out->op == INSN_OP_LOAD ? bsize : 0;
		out->reg = INSN_REG_RAX;
		has_modrm = false;
		break;
	case 0xa4:
	case 0xa5:
		out->op = INSN_OP_MOVS;
		out->size = bsize;
		out->rep = p.rep;
		has_modrm = false;
		break;
	case 0xaa:
	case 0xab:
		out->op = INSN_OP_STOS;
		out->size = bsize;
		out->reg = INSN_REG_RAX;
		out->rep = p.rep;
		out->seg = INSN_SEG_ES;	/* not overridable (SDM STOS) */
		has_modrm = false;
		break;
	default:
		rc = INSN_E_UNSUPPORTED;
		goto done;
	}

	/* LOCK is only for read-modify-write instructions; here it is #UD. */
	if (p.lock) {
		rc = INSN_E_LOCK;
		goto done;
	}

	if (has_modrm) {
		rc = insn_fetch8(&c, &modrm);
		if (rc)
			goto done;
		/* C6/C7 with /1../7 are not MOV (/7 with mod 3 is XABORT/XBEGIN). */
		if ((opcode == 0xc6 || opcode == 0xc7) && ((modrm >> 3) & 7) != 0) {
			rc = INSN_E_UNSUPPORTED;
			goto done;
		}
		if ((modrm >> 6) == 3) {
			rc = INSN_E_NOT_MEM;
			goto done;
		}
		if (out->addr_size == 2)
			rc = insn_ea16(&c, modrm, out);
		else
			rc = insn_ea32(&c, modrm, p.rex, mode, out);
		if (rc)
			goto done;
		if (out->base == INSN_REG_RSP || out->base == INSN_REG_RBP)
			out->seg = INSN_SEG_SS;
		if (out->op != INSN_OP_STORE_IMM)
			insn_set_reg(out, modrm, p.rex, out->op == INSN_OP_LOAD ?
				     out->dest_size : out->size);
	} else if (opcode <= 0xa3) {
		/* moffs: an absolute offset as wide as the address size. */
		rc = insn_fetch(&c, out->addr_size, &out->disp);
		if (rc)
			goto done;
	}

	if (out->op == INSN_OP_STORE_IMM) {
		rc = insn_fetch(&c, out->size == 8 ? 4 : out->size, &v);
		if (rc)
			goto done;
		out->imm = insn_sext(v, out->size == 8 ? 4 : out->size);
		out->imm = insn_trunc(out->imm, out->size);
	}

	if (out->seg != INSN_SEG_ES && p.seg >= 0)
		out->seg = (enum insn_seg)p.seg;
	out->zero_upper32 = out->op == INSN_OP_LOAD && mode == INSN_MODE_64 &&
			    out->dest_size == 4;
done:
	out->len = c.pos;
	return rc;
}

uint64_t insn_mmio_load(const struct insn_mmio *insn, uint64_t old_reg, uint64_t data)
{
	uint64_t val = insn_trunc(data, insn->size), mask;

	if (insn->sign_extend)
		val = insn_sext(val, insn->size);
	val = insn_trunc(val, insn->dest_size);
	if (insn->high8)
		return (old_reg & ~0xff00ull) | (val << 8);
	mask = insn_trunc(~0ull, insn->dest_size);
	val |= old_reg & ~mask;
	if (insn->zero_upper32)
		val &= 0xffffffffull;
	return val;
}

uint64_t insn_mmio_store_data(const struct insn_mmio *insn, uint64_t reg)
{
	if (insn->high8)
		return (reg >> 8) & 0xff;
	return insn_trunc(reg, insn->size);
}

const char *insn_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case INSN_E_TRUNCATED:
		return "truncated instruction";
	case INSN_E_TOO_LONG:
		return "instruction longer than 15 bytes";
	case INSN_E_UNSUPPORTED:
		return "unsupported opcode";
	case INSN_E_NOT_MEM:
		return "operand is a register, not memory";
	case INSN_E_LOCK:
		return "LOCK prefix on a non-atomic instruction";
	default:
		return "unknown error";
	}
}
