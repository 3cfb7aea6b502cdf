defmodule Wasmex.WitFixtures do
  @moduledoc false
  # WIT sources and the Discovery info maps the resource suites compare against.

  @doc "Two imported interfaces that both define a resource `r` (a constructor in `i`, `f` in `j`)."
  def two_imported_interfaces do
    """
    package a:b;
    interface i { resource r { constructor(); } }
    interface j { resource r { f: func(x: u32) -> u32; } }
    world w { import i; import j; }
    """
  end
end
