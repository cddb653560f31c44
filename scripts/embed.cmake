# Write a C source holding one file's bytes, so data the binary needs is
# built into it and a running daemon never depends on a file it might not
# find. Run at build time:
#   cmake -DIN=data/numplan/gb.csv -DOUT=gen/numplan_gb_csv.c \
#         -DNAME=numplan_gb_csv -P scripts/embed.cmake
# defines `const unsigned char NAME[]` (the bytes and a closing NUL, so an
# empty file is still a valid array) and `const size_t NAME_len`.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR len "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# One line per 16 bytes keeps the generated file readable in a debugger.
string(REGEX REPLACE "((0x..,){16})" "\\1\n\t" bytes "${bytes}")
file(WRITE "${OUT}.tmp"
  "/* Generated from ${IN} by scripts/embed.cmake; do not edit. */\n"
  "#include <stddef.h>\n\n"
  "extern const unsigned char ${NAME}[];\n"
  "extern const size_t ${NAME}_len;\n\n"
  "const unsigned char ${NAME}[] = {\n\t${bytes}0x00\n};\n"
  "const size_t ${NAME}_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
