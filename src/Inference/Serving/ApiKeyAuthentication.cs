using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Inference.Serving;

/// <summary>
/// API keys as bearer tokens (<c>Authorization: Bearer KEY</c>), an ASP.NET Core authentication scheme that the
/// endpoints require through authorization. Keys are compared by their SHA-256 in constant time, every key each
/// time, so neither a key's length nor how much of it matched shows in the timing.
/// </summary>
sealed class ApiKeyAuthentication(IOptionsMonitor<ApiKeyOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<ApiKeyOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string Name = "ApiKey";

    /// <summary>SHA-256 of a key as sent.</summary>
    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return Task.FromResult(AuthenticateResult.NoResult());
        var sent = Hash(header["Bearer ".Length..].Trim());
        var match = false;
        foreach (var key in Options.KeyHashes)
            match |= CryptographicOperations.FixedTimeEquals(sent, key);
        if (!match)
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "api-key")], Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Name)));
    }

    /// <summary>401 with the protocol's one JSON error, and how to authenticate.</summary>
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        ServerMetrics.Errors.WithLabels("unauthorized").Inc();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Response.WriteAsJsonAsync(new
        {
            error = result.Failure?.Message ?? "This endpoint needs an API key: send the header 'Authorization: Bearer KEY'.",
        });
    }
}

/// <summary>The keys <see cref="ApiKeyAuthentication"/> accepts, as hashes.</summary>
sealed class ApiKeyOptions : AuthenticationSchemeOptions
{
    /// <summary>SHA-256 of each accepted key.</summary>
    public IReadOnlyList<byte[]> KeyHashes { get; set; } = [];
}
