/* Generates src/EncoderKit/Tokenization/Unicode/UnicodeTables.Unicode8.cs (see tools/unicode/gen_unicode8_table.sh). */
#include <unicode/uchar.h>
#include <stdio.h>
/* Prints ranges of code points assigned in Unicode 8.0 or earlier (per ICU's data), one "start end" per line. */
int main(void) {
  long start = -1;
  for (UChar32 c = 0; c <= 0x10FFFF; c++) {
    UVersionInfo v; u_charAge(c, v);
    int assigned = u_charType(c) != U_UNASSIGNED;
    int newer = assigned && (v[0] <= 8);  /* "newer" here means: in the table (assigned by 8.0) */
    if (newer && start < 0) start = c;
    if (!newer && start >= 0) { printf("%lX %X\n", start, c - 1); start = -1; }
  }
  if (start >= 0) printf("%lX 10FFFF\n", start);
  printf("# unicode %s\n", U_UNICODE_VERSION);
  return 0;
}
