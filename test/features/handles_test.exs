defmodule Wasmex.Features.HandlesTest do
  # The core handle structs, each wrapping one NIF resource, and their Inspect output
  # `#Wasmex.<Module><#Reference<...>>` (the caller variant of StoreOrCaller is in
  # store_or_caller_test.exs).
  use Wasmex.Case, async: true

  alias Wasmex.{Engine, Pipe}

  defp handle(:instance), do: "(module)" |> instantiate!() |> elem(2)
  defp handle(:store), do: store!()
  defp handle(:engine), do: Engine.default()
  defp handle(:module), do: compile!(store!(), "(module)")

  defp handle(:memory) do
    {store, _module, instance} = instantiate!(~S[(module (memory (export "memory") 1))])
    memory!(store, instance)
  end

  defp handle(:pipe) do
    assert {:ok, pipe} = Pipe.new()
    pipe
  end

  for {kind, shown} <- [
        instance: "Wasmex.Instance",
        store: "Wasmex.StoreOrCaller",
        engine: "Wasmex.Engine",
        memory: "Wasmex.Memory",
        module: "Wasmex.Module",
        pipe: "Wasmex.Pipe"
      ] do
    test "Inspect shows ##{shown}<...>" do
      pattern = Regex.compile!("^#" <> Regex.escape(unquote(shown)) <> "<#Reference<[\\d.]+>>$")
      assert inspect(handle(unquote(kind))) =~ pattern
    end
  end
end
