using System.CommandLine;

namespace Inference.Commands;

/// <summary>Checks the commands share on their options.</summary>
static class OptionRules
{
    /// <summary><paramref name="option"/>, refusing values below 1.</summary>
    public static Option<int> Positive(Option<int> option)
    {
        option.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError($"{option.Name} must be at least 1"); });
        return option;
    }

    /// <summary><paramref name="option"/>, optional, refusing values below 1 when given.</summary>
    public static Option<int?> Positive(Option<int?> option)
    {
        option.Validators.Add(r => { if (r.GetValueOrDefault<int?>() < 1) r.AddError($"{option.Name} must be at least 1"); });
        return option;
    }
}
