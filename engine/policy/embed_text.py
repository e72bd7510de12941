#!/usr/bin/env python3
# Build step: writes a C++ header holding a data file as a raw string (engine/ reads no files at
# run time). Usage: embed_text.py INPUT OUTPUT NAME
import sys

src, out, name = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(src, encoding='utf-8').read()
delim = 'SALVO_EMBED'
if ')' + delim + '"' in text:
    sys.exit(f'{src}: contains the raw string delimiter')
with open(out, 'w', encoding='utf-8') as f:
    f.write(f'// Generated from {src.split("/")[-1]} by engine/policy/embed_text.py. Do not edit.\n')
    f.write('#pragma once\n\n')
    f.write(f'inline constexpr char {name}[] = R"{delim}({text}){delim}";\n')
