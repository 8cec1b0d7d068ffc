#!/usr/bin/env bash
# MeCab with UniDic (and the small IPAdic) for the Japanese whole-word-masking tests: Debian's libmecab2 is loaded at
# run time (no build dependency), the dictionaries are data. Does nothing when they are already installed.
set -euo pipefail
if [ -e /usr/lib/x86_64-linux-gnu/libmecab.so.2 ] && [ -e /var/lib/mecab/dic/unidic/sys.dic ]; then exit 0; fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq libmecab2 unidic-mecab mecab-ipadic-utf8 >/dev/null
