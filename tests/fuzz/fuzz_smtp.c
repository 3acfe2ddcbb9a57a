/* fuzz_smtp.c - libFuzzer target for what an SMTP server sends us: the reply
 * parser and the folding of a reply into one line, plus the DATA encoder.
 *
 * A reply accepted is a prefix of the input with a three-digit code, one
 * byte short of it never parses, and folding it stays within its buffer.
 * Encoded DATA never holds a bare CR or LF, and ends in CRLF "." CRLF. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../http/base64.c"
#include "../../http/buf.c"
#include "../../http/log.c"
#include "../../http/smtp.c"
#include "../../http/tlspipe.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size ? size : 1);
    memcpy(in, data, size);
    int code = 0;
    int r = smtp_parse_reply(in, size, &code);
    assert(r > 0 || r == -1 || r == -2);
    if (r > 0) {
        assert((size_t)r <= size && code >= 100 && code <= 999);
        int again;
        assert(smtp_parse_reply(in, (size_t)r - 1, &again) < 0);
        char line[64];
        size_t n = smtp_reply_fold(in, (size_t)r, line, sizeof(line));
        assert(n < sizeof(line) && line[n] == '\0');
    }
    struct buf out = {0};
    if (smtp_data_encode(&out, in, size) == 0) {
        assert(out.len >= 3 && memcmp(out.data + out.len - 3, ".\r\n", 3) == 0);
        for (size_t i = 0; i < out.len; i++) {
            if (out.data[i] == '\n')
                assert(i > 0 && out.data[i - 1] == '\r');
            if (out.data[i] == '\r')
                assert(i + 1 < out.len && out.data[i + 1] == '\n');
        }
    }
    buf_free(&out);
    free(in);
    return 0;
}
