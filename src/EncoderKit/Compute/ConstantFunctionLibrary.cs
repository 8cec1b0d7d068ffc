using System.Buffers.Binary;
using System.Text;

namespace EncoderKit.Compute;

/// <summary>
/// The bytes of the smallest x86-64 ELF shared library the glibc loader accepts that exports one function,
/// <c>int name(void)</c>, returning a constant. Built here rather than compiled from C because the machines EncoderKit
/// runs on need not have a C toolchain, and the loader needs nothing more: no section headers, relocations or symbol
/// versions, only the segments, a dynamic section, and a symbol table with its hash table.
/// </summary>
static class ConstantFunctionLibrary
{
    const int HeaderSize = 64, ProgramHeaderSize = 56, ProgramHeaderCount = 4, SymbolSize = 24, DynamicEntrySize = 16;
    const long PageSize = 0x1000;
    const uint PtLoad = 1, PtDynamic = 2, PtGnuStack = 0x6474e551;
    const uint Read = 4, Write = 2, Execute = 1;
    const long DtNull = 0, DtHash = 4, DtStrtab = 5, DtSymtab = 6, DtStrsz = 10, DtSyment = 11;

    public static byte[] Build(string symbol, int value)
    {
        // The first segment (read, execute) holds the headers, the hash table, the symbols, their names and the code;
        // the second (read, write) the dynamic section alone, which glibc before 2.35 relocates in place. It is mapped
        // one page above its file offset: a segment's address and offset must agree modulo the page size.
        byte[] names = [0, .. Encoding.ASCII.GetBytes(symbol), 0];
        byte[] code = [0xF3, 0x0F, 0x1E, 0xFA, 0xB8, .. BitConverter.GetBytes(value), 0xC3];   // endbr64; mov eax, value; ret
        long hashAt = HeaderSize + ProgramHeaderCount * ProgramHeaderSize;
        long symbolsAt = Align(hashAt + 5 * sizeof(uint), 8);
        long namesAt = symbolsAt + 2 * SymbolSize;
        long codeAt = Align(namesAt + names.Length, 16);
        long firstSegmentEnd = codeAt + code.Length;
        long dynamicAt = Align(firstSegmentEnd, 8), dynamicAddress = dynamicAt + PageSize;
        (long Tag, long Value)[] dynamic =
            [(DtHash, hashAt), (DtStrtab, namesAt), (DtSymtab, symbolsAt), (DtStrsz, names.Length), (DtSyment, SymbolSize), (DtNull, 0)];
        long dynamicSize = dynamic.Length * DynamicEntrySize;
        var image = new byte[dynamicAt + dynamicSize];
        Span<byte> bytes = image;

        // ELF header: 64-bit, little-endian, System V ABI, a shared object for x86-64, no entry point, no sections.
        bytes[0] = 0x7F; bytes[1] = (byte)'E'; bytes[2] = (byte)'L'; bytes[3] = (byte)'F';
        bytes[4] = 2; bytes[5] = 1; bytes[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[16..], 3);       // ET_DYN
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[18..], 62);      // EM_X86_64
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[20..], 1);       // EV_CURRENT
        BinaryPrimitives.WriteInt64LittleEndian(bytes[32..], HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[52..], HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[54..], ProgramHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[56..], ProgramHeaderCount);

        Span<byte> programHeaders = bytes[HeaderSize..];
        ProgramHeader(programHeaders, 0, PtLoad, Read | Execute, offset: 0, address: 0, firstSegmentEnd, PageSize);
        ProgramHeader(programHeaders, 1, PtLoad, Read | Write, dynamicAt, dynamicAddress, dynamicSize, PageSize);
        ProgramHeader(programHeaders, 2, PtDynamic, Read | Write, dynamicAt, dynamicAddress, dynamicSize, 8);
        ProgramHeader(programHeaders, 3, PtGnuStack, Read | Write, 0, 0, 0, 16);   // without it the loader makes the stack executable

        // Hash table of one bucket: the bucket starts at symbol 1, whose chain ends there.
        uint[] hash = [1, 2, 1, 0, 0];
        for (int i = 0; i < hash.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(bytes[(int)(hashAt + 4 * i)..], hash[i]);

        // Symbol 0 is the null symbol; symbol 1 a global function. The loader reads no section headers, so its section
        // index only has to name a defined one (not SHN_UNDEF, not SHN_ABS).
        Span<byte> function = bytes[(int)(symbolsAt + SymbolSize)..];
        BinaryPrimitives.WriteUInt32LittleEndian(function, 1);          // name: offset in the string table
        function[4] = 0x12;                                             // STB_GLOBAL, STT_FUNC
        BinaryPrimitives.WriteUInt16LittleEndian(function[6..], 1);
        BinaryPrimitives.WriteInt64LittleEndian(function[8..], codeAt);
        BinaryPrimitives.WriteInt64LittleEndian(function[16..], code.Length);

        names.CopyTo(bytes[(int)namesAt..]);
        code.CopyTo(bytes[(int)codeAt..]);
        for (int i = 0; i < dynamic.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes[(int)(dynamicAt + i * DynamicEntrySize)..], dynamic[i].Tag);
            BinaryPrimitives.WriteInt64LittleEndian(bytes[(int)(dynamicAt + i * DynamicEntrySize + 8)..], dynamic[i].Value);
        }
        return image;
    }

    static void ProgramHeader(Span<byte> headers, int index, uint type, uint flags, long offset, long address, long size, long alignment)
    {
        Span<byte> header = headers[(index * ProgramHeaderSize)..];
        BinaryPrimitives.WriteUInt32LittleEndian(header, type);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], flags);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], offset);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], address);   // virtual
        BinaryPrimitives.WriteInt64LittleEndian(header[24..], address);   // physical
        BinaryPrimitives.WriteInt64LittleEndian(header[32..], size);      // in the file
        BinaryPrimitives.WriteInt64LittleEndian(header[40..], size);      // in memory
        BinaryPrimitives.WriteInt64LittleEndian(header[48..], alignment);
    }

    static long Align(long offset, long alignment) => (offset + alignment - 1) / alignment * alignment;
}
