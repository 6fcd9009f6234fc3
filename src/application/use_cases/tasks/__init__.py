"""Use cases of the task board: tasks, subtasks, dependencies and bounties."""
