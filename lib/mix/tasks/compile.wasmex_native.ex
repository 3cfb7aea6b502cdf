# mix.exs loads this file from source before any compiler runs, because Mix
# needs the :wasmex_native compiler before the Elixir compiler has built
# anything. When the Elixir compiler reaches this file afterwards the module is
# already loaded, so it is not defined a second time (which would warn
# "redefining module" and fail `mix compile --warnings-as-errors`).
unless Code.ensure_loaded?(Mix.Tasks.Compile.WasmexNative) do
  defmodule Mix.Tasks.Compile.WasmexNative do
    @moduledoc """
    Builds the `wasmex` NIF (the Rust crate in `native/wasmex`) and copies it
    into the application's `priv/native/` directory.

    This is wasmex's own small replacement for Rustler's Mix integration, so the
    project needs no Hex dependencies. It is listed first in the project's
    `:compilers` and therefore runs on every `mix compile`:

      * it runs `cargo build --release` in `native/wasmex` (located relative to
        this file, so it also works when wasmex is a path or git dependency);
      * it honours `CARGO_TARGET_DIR`, defaulting to `native/wasmex/target`;
      * it copies `libwasmex.so` (`libwasmex.dylib` on macOS) to
        `priv/native/libwasmex.so` under `Mix.Project.app_path/0`;
      * it only rebuilds when `Cargo.toml`, `Cargo.lock`, `build.rs` or any
        `src/**/*.rs` file is newer than the copied library.

    Set `WASMEX_SKIP_NATIVE=1` to skip it entirely (for example when only
    Elixir files are being checked).
    """
    use Mix.Task.Compiler

    @lib_name "wasmex"

    @impl Mix.Task.Compiler
    def run(_args) do
      if System.get_env("WASMEX_SKIP_NATIVE") in ["1", "true"] do
        {:noop, []}
      else
        build(crate_dir(), output_path())
      end
    end

    @impl Mix.Task.Compiler
    def clean do
      File.rm(output_path())
      :ok
    end

    @doc false
    def crate_dir do
      Path.expand("../../../native/wasmex", __DIR__)
    end

    @doc false
    def output_path do
      Path.join([Mix.Project.app_path(), "priv", "native", "lib#{@lib_name}.so"])
    end

    defp build(crate_dir, output) do
      cond do
        not File.regular?(Path.join(crate_dir, "Cargo.toml")) ->
          error("no Rust crate found at #{crate_dir}", crate_dir)

        up_to_date?(crate_dir, output) ->
          {:noop, []}

        System.find_executable("cargo") == nil ->
          error("`cargo` was not found on PATH; install Rust (https://rustup.rs)", crate_dir)

        true ->
          cargo_build(crate_dir, output)
      end
    end

    defp cargo_build(crate_dir, output) do
      target_dir = target_dir(crate_dir)

      Mix.shell().info(
        "Compiling NIF crate #{Path.relative_to_cwd(crate_dir)} (cargo build --release)"
      )

      {_, status} =
        System.cmd("cargo", ["build", "--release"],
          cd: crate_dir,
          env: [{"CARGO_TARGET_DIR", target_dir}],
          into: IO.stream(:stdio, :line),
          stderr_to_stdout: true
        )

      built = Path.join([target_dir, "release", built_file_name()])

      cond do
        status != 0 -> error("cargo build failed with exit status #{status}", crate_dir)
        not File.regular?(built) -> error("cargo did not produce #{built}", crate_dir)
        true -> install(built, output)
      end
    end

    # Copy via a temporary file and rename it into place, so that a VM which has
    # the previous library mapped is not disturbed by an in-place overwrite.
    defp install(built, output) do
      File.mkdir_p!(Path.dirname(output))
      tmp = output <> ".tmp"
      File.cp!(built, tmp)
      File.rename!(tmp, output)
      {:ok, []}
    end

    defp target_dir(crate_dir) do
      case System.get_env("CARGO_TARGET_DIR") do
        dir when dir in [nil, ""] -> Path.join(crate_dir, "target")
        dir -> Path.expand(dir)
      end
    end

    defp built_file_name do
      case :os.type() do
        {:unix, :darwin} -> "lib#{@lib_name}.dylib"
        _ -> "lib#{@lib_name}.so"
      end
    end

    defp up_to_date?(crate_dir, output) do
      case File.stat(output, time: :posix) do
        {:ok, %{mtime: built_at}} -> newest_source_mtime(crate_dir) <= built_at
        {:error, _} -> false
      end
    end

    defp newest_source_mtime(crate_dir) do
      ["Cargo.toml", "Cargo.lock", "build.rs", "src/**/*.rs"]
      |> Enum.flat_map(&Path.wildcard(Path.join(crate_dir, &1)))
      |> Enum.map(fn path -> File.stat!(path, time: :posix).mtime end)
      |> Enum.max(fn -> 0 end)
    end

    defp error(message, crate_dir) do
      Mix.shell().error("wasmex_native: " <> message)

      diagnostic = %Mix.Task.Compiler.Diagnostic{
        compiler_name: "wasmex_native",
        file: Path.join(crate_dir, "Cargo.toml"),
        position: nil,
        message: message,
        severity: :error
      }

      {:error, [diagnostic]}
    end
  end
end
