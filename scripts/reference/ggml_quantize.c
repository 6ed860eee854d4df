// llama.cpp's own quantizers (ggml_quantize_chunk in libggml-base) as a command, so llmq's tests
// can compare their bytes with llmq's. Built and run by scripts/reference/ggml-quantize.
//
//   ggml_quantize quantize TYPE N_PER_ROW IN.f32 OUT.bin [IMATRIX.f32]
//       Quantizes IN (rows of N_PER_ROW little-endian floats) as TYPE (q6_K, iq4_nl, ...), with
//       IMATRIX's N_PER_ROW column weights when given (llama.cpp's imatrix path).
//   ggml_quantize fixtures OUTDIR [STORIES260K.bin]
//       Writes OUTDIR/input.f32 (deterministic hostile super-blocks of 256 values, then rows of
//       the llama2.c checkpoint) and OUTDIR/TYPE.bin for every type llmq compares.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ggml.h"

static const char *fixture_types[] = {"q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "iq4_nl", "iq4_xs", "q5_1"};

static enum ggml_type type_named(const char *name) {
    for (int t = 0; t < GGML_TYPE_COUNT; ++t) {
        const char *n = ggml_type_name((enum ggml_type)t);
        if (n && strcasecmp(n, name) == 0) return (enum ggml_type)t;
    }
    fprintf(stderr, "unknown ggml type %s\n", name);
    exit(2);
}

static float *read_floats(const char *path, size_t *count) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *v = malloc(bytes > 0 ? (size_t)bytes : 1);
    if (fread(v, 1, (size_t)bytes, f) != (size_t)bytes) { perror(path); exit(2); }
    fclose(f);
    *count = (size_t)bytes / sizeof(float);
    return v;
}

static void write_bytes(const char *path, const void *data, size_t bytes) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes) { perror(path); exit(2); }
    fclose(f);
}

static size_t quantize(enum ggml_type type, const float *x, size_t n, int64_t per_row, const float *imatrix, void **out) {
    int64_t rows = (int64_t)(n / (size_t)per_row);
    size_t bytes = ggml_row_size(type, per_row) * (size_t)rows;
    *out = malloc(bytes ? bytes : 1);
    size_t written = ggml_quantize_chunk(type, x, *out, 0, rows, per_row, imatrix);
    if (written != bytes) { fprintf(stderr, "wrote %zu bytes, expected %zu\n", written, bytes); exit(1); }
    return bytes;
}

// splitmix64 and Box-Muller: deterministic values for the fixtures.
static uint64_t state = 20261205;
static uint64_t next(void) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double uniform(void) { return (double)(next() >> 11) / 9007199254740992.0; }
static float normal(void) { return (float)(sqrt(-2 * log(uniform() + 1e-300)) * cos(2 * M_PI * uniform())); }

// One super-block of 256 values of kind k: each probes a branch of the encoders.
static void hostile(float *b, int k) {
    for (int i = 0; i < 256; ++i) b[i] = 0.02f * normal();
    switch (k % 14) {
    case 1: for (int i = 0; i < 6; ++i) b[next() % 256] = (uniform() < 0.5 ? -1 : 1) * 0.02f * (float)(10 + 20 * uniform()); break;
    case 2: for (int i = 0; i < 256; ++i) b[i] = 0.0f; break;
    case 3: for (int i = 0; i < 256; ++i) b[i] = -0.0f; break;
    case 4: for (int i = 0; i < 64; ++i) b[next() % 256] = uniform() < 0.5 ? -0.0f : 0.0f; break;
    case 5: for (int i = 0; i < 256; ++i) b[i] *= 1e-6f; break;                        // fp16 scales subnormal
    case 6: for (int i = 0; i < 256; ++i) b[i] *= 1e-30f; break;                       // fp16 scales zero
    case 7: for (int i = 0; i < 256; ++i) b[i] = fmaxf(-60000.0f, fminf(60000.0f, b[i] * 3e6f)); break;
    case 8: for (int i = 0; i < 256; ++i) b[i] = 0.375f * (k % 28 < 14 ? 1 : -1); break;  // constant
    case 9: for (int i = 0; i < 256; ++i) b[i] = (float)(i % 17) - 8.5f; break;           // rounding ties
    case 10: for (int i = 64; i < 96; ++i) b[i] = 0.0f; for (int i = 160; i < 176; ++i) b[i] = -0.0f; break;
    case 11: for (int i = 0; i < 256; ++i) b[i] *= (i / 32) % 2 ? 1e-4f : 50.0f; break;  // sub-blocks far apart
    case 12: for (int i = 0; i < 256; ++i) b[i] = fabsf(b[i]) + 0.01f; break;             // all positive
    case 13: for (int i = 0; i < 256; ++i) b[i] = -fabsf(b[i]) - 0.01f; break;            // all negative
    }
}

static int fixtures(const char *dir, const char *checkpoint) {
    enum { HOSTILE = 70, REAL = 24 };
    size_t n = (size_t)(HOSTILE + REAL) * 256;
    float *x = calloc(n, sizeof(float));
    for (int k = 0; k < HOSTILE; ++k) hostile(x + 256 * k, k);
    if (checkpoint) {
        // llama2.c: seven int32 of header, then fp32 weights; rows from the token embeddings and
        // from the middle of the file (attention and feed-forward matrices).
        size_t count;
        float *w = read_floats(checkpoint, &count);
        size_t half = REAL / 2 * 256;
        if (count < 7 + 2 * half + count / 2) { fprintf(stderr, "%s is too small\n", checkpoint); return 2; }
        memcpy(x + HOSTILE * 256, w + 7, half * sizeof(float));
        memcpy(x + HOSTILE * 256 + half, w + count / 2, half * sizeof(float));
        free(w);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/input.f32", dir);
    write_bytes(path, x, n * sizeof(float));
    for (size_t t = 0; t < sizeof fixture_types / sizeof *fixture_types; ++t) {
        void *q;
        size_t bytes = quantize(type_named(fixture_types[t]), x, n, 256, NULL, &q);
        snprintf(path, sizeof path, "%s/%s.bin", dir, fixture_types[t]);
        write_bytes(path, q, bytes);
        free(q);
    }
    free(x);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "fixtures") == 0) return fixtures(argv[2], argc > 3 ? argv[3] : NULL);
    if (argc < 6 || strcmp(argv[1], "quantize") != 0) {
        fprintf(stderr, "usage: %s quantize TYPE N_PER_ROW IN.f32 OUT.bin [IMATRIX.f32] | fixtures OUTDIR [STORIES260K.bin]\n", argv[0]);
        return 2;
    }
    enum ggml_type type = type_named(argv[2]);
    int64_t per_row = atoll(argv[3]);
    size_t n, columns = 0;
    float *x = read_floats(argv[4], &n);
    float *imatrix = argc > 6 ? read_floats(argv[6], &columns) : NULL;
    if (per_row <= 0 || n % (size_t)per_row || (imatrix && columns != (size_t)per_row)) {
        fprintf(stderr, "%zu values are not rows of %lld (imatrix: %zu)\n", n, (long long)per_row, columns);
        return 2;
    }
    void *q;
    size_t bytes = quantize(type, x, n, per_row, imatrix, &q);
    write_bytes(argv[5], q, bytes);
    return 0;
}
