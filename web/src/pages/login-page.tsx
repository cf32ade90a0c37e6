import { useState, type FormEvent } from 'react';
import { Button, Card, InputField } from '@dhis2/ui';
import { ApiError, postJson } from '../api.ts';
import { ErrorNotice } from '../components/error-notice.tsx';

export function LoginPage({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await postJson('/api/auth/login', { username, password });
      await onSignedIn();
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.status === 401
          ? new Error('Wrong username or password. Check both and try again.')
          : caught,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <Card className="login-card">
        <form onSubmit={submit} className="stack">
          <h1>Sign in to Ferry</h1>
          <InputField
            label="Username"
            name="username"
            autoComplete="username"
            value={username}
            onChange={({ value }) => setUsername(value ?? '')}
            required
          />
          <InputField
            label="Password"
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={({ value }) => setPassword(value ?? '')}
            required
          />
          {error ? <ErrorNotice error={error} title="Not signed in" /> : null}
          <Button type="submit" primary loading={busy} disabled={busy || !username || !password}>
            Sign in
          </Button>
        </form>
      </Card>
    </main>
  );
}
