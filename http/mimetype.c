/* mimetype.c - extension to Content-Type; see mimetype.h.
 *
 * The table is small (about seventy rows) and a lookup runs once per file
 * the static cache loads, not per request, so a linear scan over a sorted-
 * by-popularity array is plenty. Types follow the IANA registry where one
 * exists (text/javascript per RFC 9239, font/woff2 per RFC 8081).
 *
 * Compressibility is a property of the type, not of the extension, so it is
 * answered from the type string by rules: every text type, structured syntax suffixes
 * +json and +xml (RFC 6839), and a short list of formats that are stored
 * uncompressed (WebAssembly, TrueType/OpenType, ICO, BMP). ICO and BMP are
 * raster images but hold raw pixels, and h5bp's server configs gzip them too. */
#include "mimetype.h"

#include <string.h>

#include "slice.h"

#define UTF8 "; charset=utf-8"

struct mimetype_row {
    const char *ext;
    const char *type;
};

static const struct mimetype_row mimetype_table[] = {
    {"html", "text/html" UTF8},
    {"htm", "text/html" UTF8},
    {"css", "text/css" UTF8},
    {"js", "text/javascript" UTF8},
    {"mjs", "text/javascript" UTF8},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"bmp", "image/bmp"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"eot", "application/vnd.ms-fontobject"},
    {"txt", "text/plain" UTF8},
    {"text", "text/plain" UTF8},
    {"log", "text/plain" UTF8},
    {"md", "text/markdown" UTF8},
    {"markdown", "text/markdown" UTF8},
    {"csv", "text/csv" UTF8},
    {"tsv", "text/tab-separated-values" UTF8},
    {"ics", "text/calendar" UTF8},
    {"vtt", "text/vtt" UTF8},
    {"xml", "application/xml"},
    {"xhtml", "application/xhtml+xml"},
    {"rss", "application/rss+xml"},
    {"atom", "application/atom+xml"},
    {"jsonld", "application/ld+json"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"mp4", "video/mp4"},
    {"m4v", "video/mp4"},
    {"webm", "video/webm"},
    {"ogv", "video/ogg"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"m4a", "audio/mp4"},
    {"aac", "audio/aac"},
    {"ogg", "audio/ogg"},
    {"oga", "audio/ogg"},
    {"opus", "audio/ogg"},
    {"wav", "audio/wav"},
    {"flac", "audio/flac"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tgz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"bz2", "application/x-bzip2"},
    {"xz", "application/x-xz"},
    {"zst", "application/zstd"},
    {"7z", "application/x-7z-compressed"},
    {"rar", "application/vnd.rar"},
};

/* Longest extension in the table, plus room to spare for the comparison. */
#define MIMETYPE_EXT_MAX 16

const char *
mimetype_for_name(const char *name, size_t len)
{
    /* The extension is what follows the last '.' of the last segment. A
     * leading dot ("/.profile") names a hidden file, not an extension. */
    size_t i = len;
    while (i > 0 && name[i - 1] != '.' && name[i - 1] != '/')
        i--;
    if (i <= 1 || name[i - 1] != '.' || name[i - 2] == '/')
        return MIMETYPE_DEFAULT;
    size_t ext_len = len - i;
    if (ext_len == 0 || ext_len >= MIMETYPE_EXT_MAX)
        return MIMETYPE_DEFAULT;
    struct slice ext = slice_make(name + i, ext_len);
    for (size_t k = 0; k < sizeof(mimetype_table) / sizeof(mimetype_table[0]); k++) {
        const char *e = mimetype_table[k].ext;
        if (slice_eq_ci(ext, slice_make(e, strlen(e))))
            return mimetype_table[k].type;
    }
    return MIMETYPE_DEFAULT;
}

/* True when s[0..len) ends with suffix, without regard to case. */
static bool
ends_with_ci(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && slice_eq_ci(slice_make(s + len - n, n), slice_make(suffix, n));
}

bool
mimetype_compressible(const char *type)
{
    static const char *const exact[] = {
        "application/json",
        "application/javascript",
        "application/xml",
        "application/wasm",
        "application/vnd.ms-fontobject",
        "image/svg+xml",
        "image/x-icon",
        "image/vnd.microsoft.icon",
        "image/bmp",
        "font/ttf",
        "font/otf",
    };
    if (type == NULL)
        return false;
    /* Only the media type counts, not its parameters. */
    size_t len = strcspn(type, ";");
    while (len > 0 && (type[len - 1] == ' ' || type[len - 1] == '\t'))
        len--;
    struct slice media = slice_make(type, len);
    if (slice_starts_with(media, SLICE_LIT("text/")))
        return true;
    for (size_t k = 0; k < sizeof(exact) / sizeof(exact[0]); k++)
        if (slice_eq_ci(media, slice_make(exact[k], strlen(exact[k]))))
            return true;
    return slice_starts_with(media, SLICE_LIT("application/")) &&
           (ends_with_ci(type, len, "+json") || ends_with_ci(type, len, "+xml"));
}
