"""The clinical access policy: who may read, write, export and withdraw what (see README "Access policy")."""
