; Inno Setup 6 script: Windows installer for the PyInstaller bundle in dist\coscribe.
; Built by .github/workflows/release.yml (NOT tested on the Linux development machine):
;   pyinstaller --noconfirm --distpath dist --workpath build\pyinstaller packaging\coscribe.spec
;   iscc /DAppVersion=0.1.0 /DIconFile=..\..\build\coscribe.ico packaging\windows\coscribe.iss
; Per-user install by default (no admin prompt); registers coscribe:// links for that user
; (HKA = HKCU, or HKLM when installed for all users).

; ArchitecturesAllowed=x64compatible (below) exists since Inno Setup 6.3.
#if VER < EncodeVer(6, 3, 0)
  #error Inno Setup 6.3 or newer is required (release.yml installs 6.4.3)
#endif

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif

[Setup]
AppId={{8F3C2B1E-6E0B-4E7A-9C11-5B2D3C4A1F70}
AppName=Coscribe
AppVersion={#AppVersion}
AppVerName=Coscribe {#AppVersion}
AppPublisher=Coscribe developers
DefaultDirName={autopf}\Coscribe
DefaultGroupName=Coscribe
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=coscribe-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\coscribe.exe
#ifdef IconFile
SetupIconFile={#IconFile}
#endif

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\coscribe\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Coscribe"; Filename: "{app}\coscribe.exe"
Name: "{autodesktop}\Coscribe"; Filename: "{app}\coscribe.exe"; Tasks: desktopicon

[Registry]
; coscribe://host:port/document links open the app (the link is passed as the argument).
Root: HKA; Subkey: "Software\Classes\coscribe"; ValueType: string; ValueName: ""; ValueData: "URL:Coscribe document link"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\coscribe"; ValueType: string; ValueName: "URL Protocol"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\coscribe\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: """{app}\coscribe.exe"",0"
Root: HKA; Subkey: "Software\Classes\coscribe\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\coscribe.exe"" ""%1"""

[Run]
Filename: "{app}\coscribe.exe"; Description: "{cm:LaunchProgram,Coscribe}"; Flags: nowait postinstall skipifsilent
