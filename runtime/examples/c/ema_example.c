/*
 * ema_example.c: runs a .ema model through the C ABI of libema.so (runtime/ema.h).
 *
 *   ema_example MODEL.ema [INPUT.f32 [OUTPUT.f32]]
 *
 * INPUT.f32 holds raw little-endian float32s; the first ema_input_size() of them are the sample.
 * Without it a deterministic input in [0, 1] is used. The outputs are printed (and written as raw
 * float32 to OUTPUT.f32 when given), then the run's report, then the error paths are checked:
 * a bad path gives NULL and a message, NULL arguments and a NaN input give error codes.
 * Exit code 0 when everything behaved, 1 otherwise.
 *
 * Build: cc -std=c11 -Wall -I runtime ema_example.c -L DIR -lema -Wl,-rpath,DIR   (DIR holds libema.so)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ema.h"

static int failures = 0;

static void check(int ok, const char* what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) failures++;
}

int main(int argc, char** argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s MODEL.ema [INPUT.f32 [OUTPUT.f32]]\n", argv[0]);
        return 2;
    }

    ema_model* m = ema_load(argv[1]);
    if (!m) {
        fprintf(stderr, "ema_load(%s) failed: %s\n", argv[1], ema_last_error());
        return 1;
    }
    int n_in = ema_input_size(m), n_out = ema_output_size(m);
    printf("model %s: %d inputs, %d outputs\n", argv[1], n_in, n_out);
    if (n_in <= 0 || n_out <= 0) {
        fprintf(stderr, "bad sizes: %s\n", ema_last_error());
        ema_free(m);
        return 1;
    }

    float* x = malloc(sizeof(float) * (size_t)n_in);
    float* y = malloc(sizeof(float) * (size_t)n_out);
    float* y2 = malloc(sizeof(float) * (size_t)n_out);
    if (!x || !y || !y2) { fprintf(stderr, "out of memory\n"); return 1; }

    if (argc >= 3) {
        FILE* f = fopen(argv[2], "rb");
        if (!f || fread(x, sizeof(float), (size_t)n_in, f) != (size_t)n_in) {
            fprintf(stderr, "cannot read %d float32 from %s\n", n_in, argv[2]);
            return 1;
        }
        fclose(f);
        printf("input: first sample of %s\n", argv[2]);
    } else {
        for (int i = 0; i < n_in; i++) x[i] = 0.5f + 0.5f * sinf(0.1f * (float)i);
        printf("input: deterministic 0.5 + 0.5 sin(0.1 i)\n");
    }

    int rc = ema_run(m, x, y);
    if (rc != EMA_OK) {
        fprintf(stderr, "ema_run failed (%d): %s\n", rc, ema_last_error());
        return 1;
    }
    int best = 0;
    for (int i = 0; i < n_out; i++) {
        printf("y[%d] = %.9g\n", i, (double)y[i]);
        if (y[i] > y[best]) best = i;
    }
    printf("argmax %d\n", best);

    double frac = -1, bound = -1;
    rc = ema_last_report(m, &frac, &bound);
    printf("report: rc %d, recompute_fraction %.6f, max_bound %.6g\n", rc, frac, bound);
    check(rc == EMA_OK && frac >= 0 && frac <= 1 && bound >= 0, "ema_last_report gives a fraction in [0, 1] and a bound >= 0");

    if (argc == 4) {
        FILE* f = fopen(argv[3], "wb");
        int ok = f && fwrite(y, sizeof(float), (size_t)n_out, f) == (size_t)n_out;
        if (f) ok = fclose(f) == 0 && ok;
        check(ok, "outputs written");
    }

    /* The same input again: the same outputs, bit for bit (buffers reused, nothing left over). */
    rc = ema_run(m, x, y2);
    check(rc == EMA_OK && memcmp(y, y2, sizeof(float) * (size_t)n_out) == 0, "a second run gives identical outputs");

    /* Error paths: codes and messages, never a crash. */
    ema_model* bad = ema_load("/nonexistent/model.ema");
    const char* e = ema_last_error();
    check(bad == NULL && e && e[0] != '\0', "ema_load of a missing file gives NULL and a message");
    printf("     ema_last_error: %s\n", e);
    check(ema_load(NULL) == NULL && ema_last_error()[0] != '\0', "ema_load(NULL) gives NULL and a message");

    rc = ema_run(m, NULL, y);
    check(rc == EMA_E_ARG && ema_last_error()[0] != '\0', "ema_run with in == NULL gives EMA_E_ARG");
    printf("     ema_last_error: %s\n", ema_last_error());
    rc = ema_run(m, x, NULL);
    check(rc == EMA_E_ARG, "ema_run with out == NULL gives EMA_E_ARG");
    rc = ema_run(NULL, x, y);
    check(rc == EMA_E_ARG, "ema_run with model == NULL gives EMA_E_ARG");
    check(ema_input_size(NULL) < 0 && ema_output_size(NULL) < 0, "sizes of a NULL model are negative");
    check(ema_last_report(NULL, &frac, &bound) == EMA_E_ARG, "ema_last_report(NULL) gives EMA_E_ARG");

    float keep = x[0];
    x[0] = NAN;
    rc = ema_run(m, x, y2);
    check(rc == EMA_E_MODEL, "ema_run with a NaN input gives EMA_E_MODEL");
    printf("     ema_last_error: %s\n", ema_last_error());
    x[0] = keep;

    /* The model still works after the errors. */
    rc = ema_run(m, x, y2);
    check(rc == EMA_OK && memcmp(y, y2, sizeof(float) * (size_t)n_out) == 0, "runs again after the errors, same outputs");

    ema_free(m);
    ema_free(NULL);
    free(x); free(y); free(y2);
    printf("%s\n", failures == 0 ? "ema_example: all checks passed" : "ema_example: some checks FAILED");
    return failures == 0 ? 0 : 1;
}
