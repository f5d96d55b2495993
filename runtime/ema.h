/*
 * ema.h: the C ABI of the EdgeMixedAccum runtime (libema.so, runtime/EdgeMixedAccum.Native).
 *
 * A model is loaded from a .ema file into an opaque ema_model: a runtime session in adaptive mode
 * with the model's own plan (each layer's low precision and tau, as `ema run` without options), its
 * buffers allocated up front. ema_run then runs one sample: ema_input_size() floats in (raw: the
 * model's input normalisation is applied inside), ema_output_size() floats out (the first output).
 *
 * Errors: no function aborts or lets an exception escape. A failing function returns its error code
 * (or NULL / a negative size) and records a message that ema_last_error() returns on the same thread.
 *
 * Thread-safety: one model is used by one thread at a time (ema_run writes the model's buffers and
 * its report); different models may run on different threads at the same time. ema_last_error is
 * per thread. ema_load and ema_free may be called from any thread.
 *
 * Build and link: see runtime/EdgeMixedAccum.Native/README.md
 *   cc app.c -I runtime -L artifacts/native/linux-x64 -lema -Wl,-rpath,'$ORIGIN'
 */
#ifndef EMA_H
#define EMA_H

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes of ema_run and ema_last_report (ema_input_size/ema_output_size return their negation). */
#define EMA_OK          0 /* success */
#define EMA_E_ARG       1 /* a NULL or invalid argument (NULL model, NULL buffer, empty path) */
#define EMA_E_MODEL     2 /* the runtime refused: unreadable/corrupt/unsupported model, non-finite input */
#define EMA_E_INTERNAL  3 /* any other failure inside the runtime (a bug: the message names the exception) */

/* Opaque handle to a loaded model. */
typedef struct ema_model ema_model;

/* Loads the .ema model at `path` (NUL-terminated UTF-8). The file stays memory-mapped until ema_free.
 * Returns a new model owned by the caller (release it with ema_free), or NULL on error (missing,
 * unreadable, corrupt or unsupported file; NULL or empty path): see ema_last_error(). */
ema_model* ema_load(const char* path);

/* Floats per sample of the model's input, or a negative error code (-EMA_E_ARG for a NULL model). */
int ema_input_size(const ema_model* model);

/* Floats per sample of the model's first output, or a negative error code (-EMA_E_ARG for a NULL model). */
int ema_output_size(const ema_model* model);

/* Runs one sample: reads ema_input_size(model) floats from `in`, writes ema_output_size(model) floats
 * to `out` (the caller owns both buffers; they must not overlap). Does not allocate in steady state.
 * Returns EMA_OK, or EMA_E_ARG (NULL model/in/out), EMA_E_MODEL (e.g. a NaN or infinite input
 * element), EMA_E_INTERNAL; on error `out` is unspecified and ema_last_error() says why. */
int ema_run(ema_model* model, const float* in, float* out);

/* The accounting of the model's last ema_run (zeros before the first run):
 *   *recompute_fraction  share of multiply-adds done in fp32 (flagged components recomputed, plus fp32 layers), in [0, 1]
 *   *max_bound           largest predicted relative error kappa_phi * bound / |s| over the components kept
 *                        at low precision, over all layers (0 when everything ran in fp32)
 * Either pointer may be NULL (that value is skipped). Returns EMA_OK or EMA_E_ARG (NULL model). */
int ema_last_report(const ema_model* model, double* recompute_fraction, double* max_bound);

/* The message of the last failed ema_* call on this thread: NUL-terminated UTF-8, "" when none has failed.
 * Owned by the library; valid until the next ema_* call on this thread. Successful calls do not clear it,
 * so read it only right after a call reported an error. Never NULL. */
const char* ema_last_error(void);

/* Releases a model from ema_load (and unmaps its file). NULL is ignored. The handle must not be used
 * afterwards (freeing it twice is undefined, as with free()). */
void ema_free(ema_model* model);

#ifdef __cplusplus
}
#endif

#endif /* EMA_H */
