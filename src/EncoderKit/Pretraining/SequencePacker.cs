using EncoderKit.Training;

namespace EncoderKit.Pretraining;

/// <summary>How documents become fixed-length training sequences.</summary>
public enum PackingMode
{
    /// <summary>
    /// Consecutive documents fill each sequence: <c>[CLS] doc₁ [SEP] doc₂ [SEP] … [SEP]</c>, a document longer than the
    /// room left continuing in the next sequence after its <c>[CLS]</c>. RoBERTa's FULL-SENTENCES packing, and what
    /// MosaicBERT and nomic-bert-2048 train on (their text concatenated and cut into sequences of the context length).
    /// Every sequence is exactly the length except the last of an epoch, and one that a document ends in just before the
    /// closing position (its separator is then the sequence's last token, and one padding position follows).
    /// </summary>
    Fill,

    /// <summary>
    /// BERT's create_pretraining_data.py: <c>[CLS] A [SEP] B [SEP]</c> from one document's next tokens, split at a random
    /// point; half the time (always when there is only one token) B is replaced by a span of a random other document,
    /// and the tokens it displaced are used by the next sequence. A chunk never crosses a document; short chunks are padded.
    /// Documents carry no sentence boundaries here, so A and B split at any token rather than between sentences.
    /// </summary>
    NextSentencePairs,
}

/// <summary>Consecutive documents of a corpus, by index: what a packer draws from (training leaves a held-out slice to evaluation).</summary>
public readonly record struct DocumentSlice(long First, long Count);

/// <summary>Where a packer is in the corpus: epoch, document (its place in the epoch's order) and token within it.</summary>
public sealed record PackingPosition(long Epoch, long DocumentInOrder, int TokenInDocument, long SequenceInEpoch)
{
    public static PackingPosition Start { get; } = new(0, 0, 0, 0);
}

/// <summary>
/// Turns a prepared corpus into training sequences of any length (a curriculum changes it between calls), in an order
/// fixed by the seed: each epoch's document order is a permutation drawn from (seed, epoch). The packer's state is a
/// <see cref="PackingPosition"/>; restoring it continues exactly where a run stopped. Within an epoch every corpus
/// token appears exactly once (as A or B of its own document in NSP mode).
/// </summary>
public sealed class SequencePacker
{
    readonly PreparedCorpus corpus;
    readonly DocumentSlice documents;
    readonly PackingMode mode;
    readonly long seed;
    readonly int clsId, sepId, padId;
    int[]? order;
    long orderEpoch = -1;

    /// <param name="documents">The documents packed (default: all of the corpus).</param>
    public SequencePacker(PreparedCorpus corpus, PackingMode mode, long seed, int clsId, int sepId, int padId, DocumentSlice? documents = null)
    {
        this.documents = documents ?? new DocumentSlice(0, corpus.DocumentCount);
        if (this.documents.First < 0 || this.documents.Count < 1 || this.documents.First + this.documents.Count > corpus.DocumentCount)
            throw new ArgumentOutOfRangeException(nameof(documents), this.documents, $"not a non-empty slice of the corpus's {corpus.DocumentCount} documents");
        if (this.documents.Count > int.MaxValue) throw new EncoderKitException(ErrorKind.BadInput, $"{this.documents.Count} documents; at most {int.MaxValue}", corpus.Folder);
        this.corpus = corpus;
        this.mode = mode;
        this.seed = seed;
        this.clsId = clsId;
        this.sepId = sepId;
        this.padId = padId;
    }

    public PackingPosition Position { get; set; } = PackingPosition.Start;

    /// <summary>The next sequence of <paramref name="length"/> positions.</summary>
    public PackedSequence Next(int length)
    {
        int minimum = mode == PackingMode.Fill ? 3 : 5;
        if (length < minimum) throw new EncoderKitException(ErrorKind.BadInput, $"sequence length {length} leaves no room for tokens (at least {minimum})", field: "seq_len");
        if (Position.DocumentInOrder >= documents.Count) Position = new PackingPosition(Position.Epoch + 1, 0, 0, 0);
        var builder = new SequenceBuilder(length, padId);
        builder.AddSpecial(clsId, 0);
        PackedSequence sequence = mode == PackingMode.Fill ? Fill(builder, length) : Pair(builder, length);
        Position = Position with { SequenceInEpoch = Position.SequenceInEpoch + 1 };
        return sequence;
    }

    /// <summary>The epoch's document order: a permutation from a generator seeded by (seed, epoch) alone.</summary>
    public int[] Order(long epoch)
    {
        if (orderEpoch != epoch)
        {
            order = new DataOrderGenerator(SeedMix.Of(seed, SeedMix.EpochOrder, epoch)).Permutation((int)documents.Count);
            orderEpoch = epoch;
        }
        return order!;
    }

    PackedSequence Fill(SequenceBuilder builder, int length)
    {
        int[] epochOrder = Order(Position.Epoch);
        long document = Position.DocumentInOrder;
        int offset = Position.TokenInDocument;
        bool endsWithSeparator = false;
        while (document < epochOrder.Length && builder.Count < length - 1)
        {
            uint[] tokens = corpus.Document(documents.First + epochOrder[document]);
            int take = Math.Min(tokens.Length - offset, length - 1 - builder.Count);
            builder.AddTokens(tokens.AsSpan(offset, take), 0);
            endsWithSeparator = false;
            offset += take;
            if (offset < tokens.Length) break;
            document++;
            offset = 0;
            // The separator after a document; the closing [SEP] below serves when the document filled the sequence.
            if (builder.Count < length - 1)
            {
                builder.AddSpecial(sepId, 0);
                endsWithSeparator = true;
            }
        }
        if (!endsWithSeparator) builder.AddSpecial(sepId, 0);
        Position = Position with { DocumentInOrder = document, TokenInDocument = offset };
        return builder.Build(nextSentenceLabel: null);
    }

    PackedSequence Pair(SequenceBuilder builder, int length)
    {
        int[] epochOrder = Order(Position.Epoch);
        var random = new DataOrderGenerator(SeedMix.Of(seed, SeedMix.SentencePairs, Position.Epoch, Position.SequenceInEpoch));
        uint[] tokens = corpus.Document(documents.First + epochOrder[Position.DocumentInOrder]);
        int offset = Position.TokenInDocument, room = length - 3;
        int chunk = Math.Min(tokens.Length - offset, room);
        int aLength = chunk >= 2 ? 1 + (int)random.Next(chunk - 1) : chunk;
        bool randomNext = chunk < 2 || random.NextBits() >> 63 == 1;
        builder.AddTokens(tokens.AsSpan(offset, aLength), 0);
        builder.AddSpecial(sepId, 0);
        int used;
        if (randomNext)
        {
            // create_pretraining_data: B from a random other document, as long as the room left; the tokens after A go back to the stream.
            int bRoom = room - aLength;
            long other = documents.Count == 1 ? 0 : random.Next(documents.Count - 1);
            if (documents.Count > 1 && other >= epochOrder[Position.DocumentInOrder]) other++;
            uint[] otherTokens = corpus.Document(documents.First + other);
            int bLength = Math.Min(bRoom, otherTokens.Length);
            int start = (int)random.Next(otherTokens.Length - bLength + 1);
            builder.AddTokens(otherTokens.AsSpan(start, bLength), 1);
            used = aLength;
        }
        else
        {
            builder.AddTokens(tokens.AsSpan(offset + aLength, chunk - aLength), 1);
            used = chunk;
        }
        builder.AddSpecial(sepId, 1);
        offset += used;
        Position = offset >= tokens.Length
            ? Position with { DocumentInOrder = Position.DocumentInOrder + 1, TokenInDocument = 0 }
            : Position with { TokenInDocument = offset };
        return builder.Build(randomNext ? 1 : 0);
    }

    sealed class SequenceBuilder(int length, int padId)
    {
        readonly int[] ids = new int[length], types = new int[length];
        readonly bool[] special = new bool[length], wordStart = new bool[length];

        public int Count { get; private set; }
    
        public void AddSpecial(int id, int type)
        {
            ids[Count] = id;
            types[Count] = type;
            special[Count] = wordStart[Count] = true;
            Count++;
        }

        public void AddTokens(ReadOnlySpan<uint> stored, int type)
        {
            for (int i = 0; i < stored.Length; i++)
            {
                ids[Count] = (int)(stored[i] & ~CorpusManifest.WordStartBit);
                types[Count] = type;
                // A document cut at a sequence start begins a word there: masking never spans sequences.
                wordStart[Count] = i == 0 || (stored[i] & CorpusManifest.WordStartBit) != 0;
                Count++;
            }
        }

        public PackedSequence Build(int? nextSentenceLabel)
        {
            int real = Count;
            for (int i = real; i < length; i++)
            {
                ids[i] = padId;
                special[i] = wordStart[i] = true;
            }
            return new PackedSequence(ids, types, special, wordStart, real, nextSentenceLabel);
        }
    }
}
