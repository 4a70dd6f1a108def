using System.Buffers;
using Microsoft.AspNetCore.Http;

namespace Inference.Serving;

/// <summary>
/// A request's body, read whole into a pooled buffer that is reserved in the <see cref="MemoryBudget"/> before it is
/// filled: by its Content-Length, or (chunked) at each doubling. Disposing it returns the buffer and the reservation.
/// </summary>
sealed class RequestBody : IDisposable
{
    const int FirstChunkedSize = 64 * 1024;

    byte[] buffer = [];
    IDisposable? reservation;
    int length;

    RequestBody()
    {
    }

    /// <summary>The bytes received.</summary>
    public ReadOnlyMemory<byte> Bytes => buffer.AsMemory(0, length);

    /// <summary>The bytes as a read-only, seekable stream.</summary>
    public MemoryStream AsStream() => new(buffer, 0, length, writable: false);

    /// <summary>Reads the body of <paramref name="request"/>, at most <paramref name="maxBytes"/>.</summary>
    /// <exception cref="RequestTooLargeException">The body is over <paramref name="maxBytes"/> or the whole budget (413).</exception>
    /// <exception cref="ServerBusyException">The budget cannot take it now (503).</exception>
    public static async Task<RequestBody> ReadAsync(HttpRequest request, MemoryBudget budget, long maxBytes, CancellationToken cancelled)
    {
        if (request.ContentLength > maxBytes)
        {
            // Kestrel refuses it on the first read (413, its limit is maxBytes) and closes the connection as a
            // client sending a large body expects; refused here, the body still arriving would break the pipe.
            _ = await request.Body.ReadAsync(new byte[1], cancelled);
            throw TooLarge(maxBytes);
        }
        var body = new RequestBody();
        try
        {
            body.Grow(budget, request.ContentLength is { } declared ? (int)declared : FirstChunkedSize);
            while (true)
            {
                if (body.length == body.buffer.Length)
                {
                    // Kestrel ends a body at its Content-Length; otherwise one more byte than the limit tells too long.
                    if (body.length == request.ContentLength)
                        break;
                    body.Grow(budget, (int)Math.Min(maxBytes + 1, Math.Max(FirstChunkedSize, 2L * body.length)));
                }
                var read = await request.Body.ReadAsync(body.buffer.AsMemory(body.length), cancelled);
                if (read == 0)
                    break;
                body.length += read;
                if (body.length > maxBytes)
                    throw TooLarge(maxBytes);
            }
            return body;
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    void Grow(MemoryBudget budget, int size)
    {
        // The shared pool hands out powers of two: reserve what it will give.
        var bigger = budget.Reserve(size == 0 ? 0 : (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)size), "The request body");
        var next = ArrayPool<byte>.Shared.Rent(size);
        buffer.AsSpan(0, length).CopyTo(next);
        Return();
        (buffer, reservation) = (next, bigger);
    }

    void Return()
    {
        if (buffer.Length > 0)
            ArrayPool<byte>.Shared.Return(buffer);
        reservation?.Dispose();
        (buffer, reservation) = ([], null);
    }

    /// <summary>Returns the buffer to the pool and its bytes to the budget.</summary>
    public void Dispose() => Return();

    static RequestTooLargeException TooLarge(long maxBytes) => new($"The request body is larger than the server's limit of {maxBytes} bytes.");
}
