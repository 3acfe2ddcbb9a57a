/* base64.c - base64 encoding and strict decoding; see base64.h.
 *
 * Three input bytes make four output characters of six bits each; a final
 * group of one or two bytes is padded with '=' to four characters.
 *
 * REFERENCES
 *   RFC 4648 "The Base16, Base32, and Base64 Data Encodings", sections 3.5, 4, 10.
 *   RFC 2045 section 6.8 (76-character lines in MIME bodies). */
#include "base64.h"

#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encoded_len(size_t len, bool wrap)
{
    if (len / 3 >= SIZE_MAX / 8)
        return 0;
    size_t n = (len + 2) / 3 * 4;
    if (wrap)
        n += (n + BASE64_MIME_LINE - 1) / BASE64_MIME_LINE * 2;
    return n;
}

size_t
base64_encode(char *out, const void *in, size_t len, bool wrap)
{
    const unsigned char *p = in;
    size_t o = 0, col = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
        col += 4;
        /* 76 is a multiple of 4, so a line never splits a group. */
        if (wrap && (col == BASE64_MIME_LINE || i + 3 >= len)) {
            out[o++] = '\r';
            out[o++] = '\n';
            col = 0;
        }
    }
    return o;
}

size_t
base64_decoded_bound(size_t len)
{
    return len / 4 * 3 + 3;
}

static int
sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

ssize_t
base64_decode(void *out, const char *in, size_t len)
{
    unsigned char *o = out;
    size_t n = 0;
    uint32_t acc = 0;
    int have = 0; /* sextets in acc */
    int pad = 0;  /* '=' seen; only more '=' and white space may follow */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            /* Padding completes a group of two or three sextets, never more. */
            if (have + pad < 2 || have + pad >= 4)
                return -1;
            pad++;
            continue;
        }
        int v = sextet(c);
        if (v < 0 || pad)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        if (++have == 4) {
            o[n++] = (unsigned char)(acc >> 16);
            o[n++] = (unsigned char)(acc >> 8);
            o[n++] = (unsigned char)acc;
            acc = 0;
            have = 0;
        }
    }
    if (have == 0 && pad == 0)
        return (ssize_t)n;
    /* A partial group needs exactly the padding that makes it four. */
    if (have + pad != 4)
        return -1;
    if (have == 2) {
        if (acc & 0xf) /* non-zero pad bits: not canonical (RFC 4648 3.5) */
            return -1;
        o[n++] = (unsigned char)(acc >> 4);
    } else if (have == 3) {
        if (acc & 0x3)
            return -1;
        o[n++] = (unsigned char)(acc >> 10);
        o[n++] = (unsigned char)(acc >> 2);
    } else {
        return -1;
    }
    return (ssize_t)n;
}
