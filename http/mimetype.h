/* mimetype.h - Content-Type from a file name, and whether a type is worth gzip.
 *
 * A fixed table keyed by the extension, compared without regard to case.
 * Text types carry "; charset=utf-8" (a site is assumed to be UTF-8, as
 * nginx's charset_types and most static servers assume). */
#ifndef MIMETYPE_H
#define MIMETYPE_H

#include <stdbool.h>
#include <stddef.h>

#define MIMETYPE_DEFAULT "application/octet-stream"

/* Returns the Content-Type for the file name (or path) name[0..len), chosen
 * by the text after its last '.' in its last segment, case-insensitively:
 * "a/b.HTML" gives "text/html; charset=utf-8". An unknown or missing
 * extension gives MIMETYPE_DEFAULT. The result is a static string. */
const char *mimetype_for_name(const char *name, size_t len);

/* True when bodies of this Content-Type usually shrink under gzip: text,
 * JSON, JavaScript, XML, SVG, WebAssembly, uncompressed fonts and icons.
 * False for already-compressed formats (raster images, audio, video,
 * archives, WOFF fonts) and for anything unknown. type may be NULL. */
bool mimetype_compressible(const char *type);

#endif
