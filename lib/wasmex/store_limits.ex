defmodule Wasmex.StoreLimits do
  @moduledoc ~S"""
  Resource limits of a store. A `nil` field keeps wasmtime's default.

  | field | meaning | default when `nil` |
  |---|---|---|
  | `memory_size` | bytes per linear memory | unlimited |
  | `table_elements` | elements per table | unlimited |
  | `instances` | instances in the store | 10,000 |
  | `tables` | tables in the store | 10,000 |
  | `memories` | memories in the store | 10,000 |

  Going past a limit is never fatal: instantiation fails with `{:error, reason}` and a guest's
  `memory.grow` returns -1.

      iex> {:ok, _store} = Wasmex.Store.new(%Wasmex.StoreLimits{memory_size: 1_048_576})
  """

  @type t :: %__MODULE__{
          memory_size: non_neg_integer() | nil,
          table_elements: non_neg_integer() | nil,
          instances: non_neg_integer() | nil,
          tables: non_neg_integer() | nil,
          memories: non_neg_integer() | nil
        }

  defstruct memory_size: nil, table_elements: nil, instances: nil, tables: nil, memories: nil
end
