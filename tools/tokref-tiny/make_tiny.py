#!/usr/bin/env python3
"""Writes the hand-made tokenizer.json files under tests/EncoderKit.Tests/Tokenization/Data/tiny/.

Each exercises stages the five families do not use. Their expected outputs come from the Rust tokenizers core:
tools/tokref-tiny/gen.js (needs `npm install tokenizers` in tools/tokref-tiny).
"""
import json, os

out = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'EncoderKit.Tests', 'Tokenization', 'Data', 'tiny')
byte_tokens = [f'<0x{b:02X}>' for b in range(256)]

def added(tokens):
    return [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True} for c, i in tokens]

def write(name, obj):
    with open(os.path.join(out, name + '.json'), 'w', encoding='utf-8') as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)

# 1. Unigram + Metaspace (prepend first, split) + NFKC/Replace/Strip + byte fallback + template with EOS.
pieces = ['<unk>', '<s>', '</s>'] + byte_tokens + ['▁', '▁the', 'the', 'he', 't', 'h', 'e', '▁a', 'a', 'b', 'c', 'ab', 'abc', '▁ab',
          'q', 'u', 'i', 'ck', '▁qu', 'ick', '▁quick', 'o', 'n', 'on', '▁on', 'x', '1', '2', '12', '東', '京', '東京', 'は', '日本',
          'f', 'fi', 'l', 'w', 'r', 'd', '▁w', 'or', 'ld', '▁world', 's', "'", '.', ',', '!']
vocab = [[p, 0.0 if i < 3 + 256 else -1.0 - (i % 17) * 0.37 - len(p) * 0.11] for i, p in enumerate(pieces)]
write('unigram-metaspace', {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": added([('<unk>', 0), ('<s>', 1), ('</s>', 2)]),
    "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "NFKC"},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        {"type": "Strip", "strip_left": True, "strip_right": True}]},
    "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
    "post_processor": {"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "</s>", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}, "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
    "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
    "model": {"type": "Unigram", "unk_id": 0, "vocab": vocab, "byte_fallback": True}})

# 2. BPE with continuing prefix and end-of-word suffix, unk fused; NFD + StripAccents + Lowercase;
#    WhitespaceSplit + Punctuation + Digits; BertProcessing; BPEDecoder.
chars = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")
bpe_vocab = {'[UNK]': 0, '[CLS]': 1, '[SEP]': 2, '[PAD]': 3}
def add(t):
    if t not in bpe_vocab: bpe_vocab[t] = len(bpe_vocab)
for c in chars:
    add(c); add('##' + c); add(c + '</w>'); add('##' + c + '</w>')
merges = [('t', '##h'), ('th', '##e</w>'), ('q', '##u'), ('qu', '##i'), ('qui', '##c'), ('quic', '##k</w>'), ('a', '##n'),
          ('an', '##d</w>'), ('##o', '##w'), ('b', '##r'), ('br', '##ow'), ('brow', '##n</w>'), ('##e', '##r'), ('c', '##a'),
          ('ca', '##f'), ('caf', '##e</w>'), ('n', '##a'), ('na', '##i'), ('nai', '##v'), ('naiv', '##e</w>'), ('##e', '##s</w>')]
for a, b in merges:
    add(a + b[2:])
write('bpe-affixes', {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": added([('[UNK]', 0), ('[CLS]', 1), ('[SEP]', 2), ('[PAD]', 3)]),
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"}]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Isolated"},
                                                             {"type": "Digits", "individual_digits": True}]},
    "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
    "decoder": {"type": "BPEDecoder", "suffix": "</w>"},
    "model": {"type": "BPE", "dropout": None, "unk_token": "[UNK]", "continuing_subword_prefix": "##", "end_of_word_suffix": "</w>",
              "fuse_unk": True, "byte_fallback": False, "vocab": bpe_vocab, "merges": [f'{a} {b}' for a, b in merges]}})

# 3. WordLevel with Split (regex, each behaviour through a Sequence) and Whitespace; Prepend; no post-processor.
words = ['[UNK]', 'hello', 'world', '-', '--', 'a', 'b', 'c', '1', '2', '3', '123', 'x', 'y', '!', ',', '.', '>>', 'hello-world', '>>hello', 'é', 'e']
write('wordlevel-split', {
    "version": "1.0", "truncation": None, "padding": None, "added_tokens": added([('[UNK]', 0)]),
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": ">>"}, {"type": "Lowercase"}]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"String": "--"}, "behavior": "Isolated", "invert": False},
        {"type": "Split", "pattern": {"Regex": "\\d+"}, "behavior": "MergedWithNext", "invert": False},
        {"type": "Split", "pattern": {"Regex": "[a-z]+"}, "behavior": "Contiguous", "invert": True},
        {"type": "Whitespace"}]},
    "post_processor": None, "decoder": None,
    "model": {"type": "WordLevel", "vocab": {w: i for i, w in enumerate(words)}, "unk_token": "[UNK]"}})

# 4. Byte-fallback BPE without unk (Llama style): Prepend + Replace normalizers, decoder chain with Strip.
bf_vocab = {'<unk>': 0, '<s>': 1, '</s>': 2}
for t in byte_tokens: bf_vocab[t] = len(bf_vocab)
for t in ['▁', 'a', 'b', 'c', 'h', 'e', 'l', 'o', 'w', 'r', 'd', '▁h', 'el', 'lo', '▁he', 'll', '▁hell', '▁hello', 'wo', 'rl', '▁wo', '▁wor', '▁world', 'ab', 'abc', '東']:
    bf_vocab.setdefault(t, len(bf_vocab))
bf_merges = ['▁ h', 'e l', 'l o', '▁h e', 'l l', '▁he ll', '▁hell o', 'w o', '▁ wo', '▁wo r', 'r l', '▁wor l', '▁worl d', 'a b', 'ab c']
for m in bf_merges:
    a, b = m.split(' '); bf_vocab.setdefault(a + b, len(bf_vocab))
write('bpe-bytefallback', {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": added([('<unk>', 0), ('<s>', 1), ('</s>', 2)]),
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
    "pre_tokenizer": None,
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                       "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                       "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
    "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
                                                 {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
              "fuse_unk": True, "byte_fallback": True, "ignore_merges": False, "vocab": bf_vocab, "merges": bf_merges}})

# 5. ByteLevel BPE, RoBERTa style: add_prefix_space, RobertaProcessing with trim_offsets, ignore_merges, an lstrip <mask>.
bl = {'<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3}
alphabet = [chr(c) for c in range(33, 127)] + ['Ġ', 'Ã', '©', 'ä', '¸', 'Ń', 'æ', 'Ĺ', '¥', 'ð', 'Ł', 'ĺ', 'Ģ', 'Ċ', 'ĉ']
for c in alphabet: bl.setdefault(c, len(bl))
bl_merges = ['Ġ t', 'h e', 'Ġt he', 'Ġ w', 'o r', 'Ġw or', 'l d', 'Ġwor ld', 'Ġ a', 'Ġ Ġ', 'ĠĠ ĠĠ', 'Ã ©', 'Ġ h', 'e l', 'l o', 'Ġh el', 'Ġhel lo']
for m in bl_merges:
    a, b = m.split(' '); bl.setdefault(a + b, len(bl))
bl.setdefault('Ġhelloworld', len(bl))
bl['<mask>'] = len(bl)
write('bytelevel-roberta', {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": added([('<s>', 0), ('<pad>', 1), ('</s>', 2), ('<unk>', 3)]) + [
        {"id": bl['<mask>'], "content": "<mask>", "single_word": False, "lstrip": True, "rstrip": False, "normalized": False, "special": True}],
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True, "add_prefix_space": True},
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
              "fuse_unk": False, "byte_fallback": False, "ignore_merges": True, "vocab": bl, "merges": bl_merges}})
print('written to', os.path.abspath(out))
