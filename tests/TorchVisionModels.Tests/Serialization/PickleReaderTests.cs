using System.Numerics;
using TorchVisionModels.Serialization;

namespace TorchVisionModels.Tests.Serialization;

/// <summary>Integers past 32 bits, which torch.save writes with LONG1 for numel, offsets and strides of 2^31 and more, read as 64-bit integers.</summary>
public class PickleReaderTests
{
    static object? Load(params byte[] body)
        => new PickleReader(new MemoryStream([0x80, 0x02, .. body, (byte)'.']), _ => null, (_, _) => null).Load();

    [Fact]
    public void Long1WithinSixtyFourBitsIsALong()
    {
        Assert.Equal(2147483648L, Load(0x8a, 0x05, 0x00, 0x00, 0x00, 0x80, 0x00));          // 2^31
        Assert.Equal(-2147483649L, Load(0x8a, 0x05, 0xff, 0xff, 0xff, 0x7f, 0xff));        // -2^31 - 1
        Assert.Equal(long.MaxValue, Load(0x8a, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f));
    }

    [Fact]
    public void Long1PastSixtyFourBitsStaysExact()
        => Assert.Equal(BigInteger.Pow(2, 64), Load(0x8a, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x01));
}
