using System.CommandLine;
using System.Globalization;

namespace Inference.Commands;

/// <summary>
/// <c>finetune</c>'s training settings: each option's value as given on the command line, else as the base settings
/// have it (a <c>--recipe</c>, or the card of the run <c>--resume</c> continues), else its default; and every value
/// used, by option name, for the run's card.
/// </summary>
sealed class TrainingSettings(ParseResult result, IReadOnlyDictionary<string, string>? baseSettings)
{
    readonly Dictionary<string, string> used = [];

    /// <summary>Every setting read so far, by option name without its dashes.</summary>
    public IReadOnlyDictionary<string, string> Used => used;

    /// <summary>Whether the command line gave <paramref name="option"/>.</summary>
    public bool Given(Option option) => result.GetResult(option) is { Implicit: false };

    /// <summary>The value of <paramref name="option"/>, recorded.</summary>
    public T Get<T>(Option<T> option)
    {
        var name = option.Name.TrimStart('-');
        var value = !Given(option) && baseSettings?.TryGetValue(name, out var text) == true ? Parse<T>(text) : result.GetValue(option)!;
        Set(option, value);
        return value;
    }

    /// <summary>Records <paramref name="value"/> as the one used for <paramref name="option"/> (a rule changed it).</summary>
    public void Set<T>(Option<T> option, T value)
    {
        var name = option.Name.TrimStart('-');
        if (value is null)
            used.Remove(name);
        else
            used[name] = value is bool flag ? (flag ? "true" : "false") : Convert.ToString(value, CultureInfo.InvariantCulture)!;
    }

    static T Parse<T>(string text)
    {
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return (T)Convert.ChangeType(text, type, CultureInfo.InvariantCulture);
    }
}
