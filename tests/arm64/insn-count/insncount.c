/* insncount: a qemu-user TCG plugin that counts executed guest instructions, in total and per
 * mnemonic, so ARM64 kernels can be compared by repeatable instruction counts on an x86 host.
 * (Copied from the project's shared tools/insn-count; this copy adds the `split=1` argument: a
 * SIMD/FP instruction is then counted under its mnemonic and the arrangement of its first operand,
 * e.g. "fmla.8h" (fp16) apart from "fmla.4s" (fp32), "sdot.4s", "smlal.4s", "fmla.s" for scalar
 * s registers. tests/arm64/insn-count.sh uses split=1,top=100000.)
 * Build: ./build.sh   Use: qemu-aarch64 -cpu cortex-a76 -L /usr/aarch64-linux-gnu \
 *          -plugin ./libinsncount.so,top=25 ./app args...
 * Prints to stderr at exit: "insns total N" then the top mnemonics "insns <mnemonic> N".
 * With pcs=FILE it also writes, per translated block, "<guest address in hex> <instructions executed>" to FILE,
 * which tests/arm64/insn_profile.py turns into a profile by function (the NativeAOT binary's symbols).
 * Declarations below are the subset of the qemu 7.x plugin API (version 1) that this uses. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t, void *);
extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, qemu_plugin_vcpu_tb_trans_cb_t);
extern void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *, enum qemu_plugin_op, void *, uint64_t);
extern void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *, enum qemu_plugin_op, void *, uint64_t);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, qemu_plugin_udata_cb_t, void *);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
extern struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
extern char *qemu_plugin_insn_disas(const struct qemu_plugin_insn *);
extern const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *);
extern size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *);
extern uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t total;
static GHashTable *by_mnemonic; /* mnemonic -> uint64_t* counter */
static int top = 20;
static int split = 0;
static char *pcs_path;   /* pcs=FILE: instructions executed per block start address */
static GHashTable *by_pc; /* guest vaddr -> uint64_t* counter */

/* The key under which an instruction is counted: the mnemonic, and with split=1 for SIMD/FP
 * instructions also the arrangement of the first operand ("v1.8h" -> ".8h", "h3" -> ".h"). */
static void key_of(const char *disas, char *m, size_t size) {
    size_t k = 0;
    while (disas[k] && disas[k] != ' ' && k < size - 1) { m[k] = disas[k]; k++; }
    m[k] = 0;
    if (!split) return;
    const char *op = disas + k;
    while (*op == ' ' || *op == '\t') op++;
    char arr[8]; size_t a = 0;
    if (op[0] == 'v' && op[1] >= '0' && op[1] <= '9') {
        const char *dot = op + 1;
        while (*dot >= '0' && *dot <= '9') dot++;
        if (*dot != '.') return;
        dot++;
        while ((*dot >= '0' && *dot <= '9') || (*dot >= 'a' && *dot <= 'z')) { if (a < sizeof arr - 1) arr[a++] = *dot; dot++; }
    } else if ((op[0] == 'h' || op[0] == 's' || op[0] == 'd' || op[0] == 'q' || op[0] == 'b') && op[1] >= '0' && op[1] <= '9') {
        const char *end = op + 1;
        while (*end >= '0' && *end <= '9') end++;
        if (*end != ',' && *end != 0) return; /* not a register name (e.g. an immediate or label) */
        arr[a++] = op[0];
    } else return;
    arr[a] = 0;
    if (a == 0 || k + 1 + a >= size) return;
    m[k] = '.'; memcpy(m + k + 1, arr, a + 1);
}

/* qemu 7.2's AArch64 disassembler knows neither the dot product (FEAT_DotProd) nor the FEAT_FP16
 * vector instructions: it prints them as ".byte 0x..". With split=1 the ones the kernels use are
 * named from their encoding instead (others stay ".byte"; split=2 shows their words). */
static const char *undecoded_name(uint32_t w) {
    int q = (w >> 30) & 1;
    if ((w & 0xBFE0FC00u) == 0x0E809400u) return q ? "sdot.4s" : "sdot.2s";
    if ((w & 0xBFE0FC00u) == 0x2E809400u) return q ? "udot.4s" : "udot.2s";
    if ((w & 0xBFC0F400u) == 0x0F80E000u) return q ? "sdot.4s[elem]" : "sdot.2s[elem]";
    if ((w & 0xBFC0F400u) == 0x2F80E000u) return q ? "udot.4s[elem]" : "udot.2s[elem]";
    if ((w & 0xBFFFFC00u) == 0x0EF8F800u) return q ? "fabs.8h" : "fabs.4h";
    if ((w & 0xBFFFFC00u) == 0x2EF8F800u) return q ? "fneg.8h" : "fneg.4h";
    if ((w & 0xBFE0FC00u) == 0x0E400C00u) return q ? "fmla.8h" : "fmla.4h";
    if ((w & 0xBFE0FC00u) == 0x0EC00C00u) return q ? "fmls.8h" : "fmls.4h";
    if ((w & 0xBFE0FC00u) == 0x0E401400u) return q ? "fadd.8h" : "fadd.4h";
    if ((w & 0xBFE0FC00u) == 0x2E401C00u) return q ? "fmul.8h" : "fmul.4h";
    if ((w & 0xBFE0FC00u) == 0x0EC01400u) return q ? "fsub.8h" : "fsub.4h";
    if ((w & 0xBFC0F400u) == 0x0F001000u) return q ? "fmla.8h[elem]" : "fmla.4h[elem]";
    if ((w & 0xBFE0FC00u) == 0x2E401400u) return q ? "faddp.8h" : "faddp.4h";
    return NULL;
}

static uint64_t *counter_for(const char *disas, const struct qemu_plugin_insn *insn) {
    char m[40];
    key_of(disas, m, sizeof m);
    if (split && strncmp(m, ".byte", 5) == 0 && qemu_plugin_insn_size(insn) == 4) {
        uint32_t w; memcpy(&w, qemu_plugin_insn_data(insn), 4);
        const char *n = undecoded_name(w);
        if (n) snprintf(m, sizeof m, "%s", n);
        else if (split > 1) snprintf(m, sizeof m, ".word:%08x", w); /* split=2: show undecoded words */
    }
    uint64_t *c = g_hash_table_lookup(by_mnemonic, m);
    if (!c) { c = g_new0(uint64_t, 1); g_hash_table_insert(by_mnemonic, g_strdup(m), c); }
    return c;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &total, n);
    if (by_pc) {
        uint64_t pc = qemu_plugin_tb_vaddr(tb);
        uint64_t *c = g_hash_table_lookup(by_pc, &pc);
        if (!c) {
            uint64_t *key = g_new(uint64_t, 1); *key = pc;
            c = g_new0(uint64_t, 1);
            g_hash_table_insert(by_pc, key, c);
        }
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, c, n);
    }
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        char *d = qemu_plugin_insn_disas(insn);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, counter_for(d, insn), 1);
        g_free(d);
    }
}


typedef struct { const char *name; uint64_t count; } row_t;
static int row_cmp(const void *a, const void *b) {
    const row_t *x = a, *y = b; return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static void report_at_exit(qemu_plugin_id_t id, void *p) {
    guint n = g_hash_table_size(by_mnemonic);
    row_t *rows = calloc(n ? n : 1, sizeof *rows);
    GHashTableIter it; gpointer k, v; guint i = 0;
    g_hash_table_iter_init(&it, by_mnemonic);
    while (g_hash_table_iter_next(&it, &k, &v)) { rows[i].name = k; rows[i].count = *(uint64_t *)v; i++; }
    qsort(rows, n, sizeof *rows, row_cmp);
    fprintf(stderr, "insns total %llu\n", (unsigned long long)total);
    for (i = 0; i < n && (int)i < top; i++) fprintf(stderr, "insns %s %llu\n", rows[i].name, (unsigned long long)rows[i].count);
    free(rows);
    if (by_pc) {
        FILE *f = fopen(pcs_path, "w");
        if (!f) { fprintf(stderr, "insncount: cannot write %s\n", pcs_path); return; }
        g_hash_table_iter_init(&it, by_pc);
        while (g_hash_table_iter_next(&it, &k, &v))
            if (*(uint64_t *)v) fprintf(f, "%llx %llu\n", (unsigned long long)*(uint64_t *)k, (unsigned long long)*(uint64_t *)v);
        fclose(f);
    }
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "top=", 4) == 0) top = atoi(argv[i] + 4);
        else if (strncmp(argv[i], "split=", 6) == 0) split = atoi(argv[i] + 6);
        else if (strncmp(argv[i], "pcs=", 4) == 0) pcs_path = g_strdup(argv[i] + 4);
    }
    if (pcs_path) by_pc = g_hash_table_new(g_int64_hash, g_int64_equal);
    by_mnemonic = g_hash_table_new(g_str_hash, g_str_equal);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, report_at_exit, NULL);
    return 0;
}
